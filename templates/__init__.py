"""Everything a person reads: chat message templates, short texts, report templates."""
