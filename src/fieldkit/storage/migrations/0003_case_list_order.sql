-- The caseload is read one page at a time, newest activity first, the case id breaking ties
-- (CaseRepository.page). With this index a page is a walk down the index that stops after
-- the page's rows; without it every case is read and sorted to show the first 200.
CREATE INDEX cases_recent ON cases(updated_at, id);
