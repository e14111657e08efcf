-- The unit's mức độ 1 recognition decision (Thông tư 24/2023), as in ../0002_level1_decision.sql:
-- number "" with no date records that the unit said it has none yet; NULL: never asked.
ALTER TABLE units ADD COLUMN level1_decision_number TEXT;
-- Only real dates pass: '2024-02-30'::date is an error, and a date must be written as its own
-- canonical text (YYYY-MM-DD).
ALTER TABLE units ADD COLUMN level1_decision_date TEXT
    CHECK (level1_decision_date IS NULL
           OR to_char(level1_decision_date::date, 'YYYY-MM-DD') = level1_decision_date);
