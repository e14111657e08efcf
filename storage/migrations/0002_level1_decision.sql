-- The unit's mức độ 1 recognition decision (Thông tư 24/2023): mức độ 2 may be asked only 12
-- months after it. Number "" with no date records that the unit said it has none yet, so the
-- question is asked once; NULL means it was never asked.
ALTER TABLE units ADD COLUMN level1_decision_number TEXT;
ALTER TABLE units ADD COLUMN level1_decision_date TEXT
    -- '+0 days' makes SQLite roll 2024-02-30 over to 2024-03-01, so only real dates pass.
    CHECK (level1_decision_date IS NULL
           OR date(level1_decision_date, '+0 days') = level1_decision_date);
