-- The report's header names the issuing body in its own words and line breaks ("ỦY BAN NHÂN DÂN
-- / PHƯỜNG PHỔ NINH"), not the unit's name in capitals; and the dossier (Thông tư 24/2023,
-- Điều 10) is addressed to the body that recognises the unit, which since 1 July 2025 (two-level
-- government) is no longer a district: a setting per unit, or on the supervising unit for all of
-- its units. NULL: not given (the report falls back on the unit's name / the year's default).
ALTER TABLE units ADD COLUMN issuing_name TEXT;
ALTER TABLE units ADD COLUMN recognising_body TEXT;
