-- A case's current approved assessment (the re-assessment date the case lists show) and whether
-- one waits for review: one seek per case, the newest submission first, nothing sorted. By the
-- case index each case's assessments were sorted; by the status index every approved assessment
-- of the caseload was searched for each case (quadratic in a team lead's vault).
CREATE INDEX assessments_case_status ON assessments(case_id, status, submitted_at);
