-- The caseload counts drafts per case: without this index every note row of every case is
-- read (the text included) to look at its state.
CREATE INDEX notes_case_state ON notes(case_id, state);
