-- occurrences_insert: a series' occurrences become schedule rows, one per
-- account of the series and instant (scheduler/recurrence.c, in the
-- transaction that holds the series' posts row), through the migration's
-- autopost_occurrences_insert (0017_recurrence.sql): the scheduler's role
-- has no INSERT on post_schedules, only this function, which makes rows for
-- a live series' own accounts and nothing else. ON CONFLICT DO NOTHING on
-- post_schedules_occurrence_idx: an occurrence another scheduler, or this
-- one before a crash, already made is not made again. Skipped rows get
-- their history line and (0016's insert trigger) a schedule.skipped event.
-- $1 post id, $2 the instants (epoch ms, bigint[]), $3 each one's status
-- (text[]: pending, or skipped for one already missed), $4 the reason a
-- skipped row carries. Answers the rows made: pending, skipped.
SELECT made_pending, made_skipped
  FROM autopost_occurrences_insert($1::uuid, $2::bigint[], $3::text[], $4)
