-- 0006, for PostgreSQL: as ../0006_issuing_recognising.sql (the issuing body's own words for the
-- report's header; the body that recognises the unit, a setting per unit or supervising unit).
ALTER TABLE units ADD COLUMN issuing_name TEXT;
ALTER TABLE units ADD COLUMN recognising_body TEXT;
