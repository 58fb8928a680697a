-- The jobs GET /jobs/mine listed. seen_at always moves; the rest only when it differs.
INSERT INTO jobs AS j (job_id, title, status, created_at, updated_at, proposals_total)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[], $6::int[])
ON CONFLICT (job_id) DO UPDATE SET
    title           = excluded.title,
    status          = excluded.status,
    created_at      = coalesce(excluded.created_at, j.created_at),
    updated_at      = coalesce(excluded.updated_at, j.updated_at),
    proposals_total = excluded.proposals_total,
    seen_at         = now()
