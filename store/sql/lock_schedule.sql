-- lock_schedule: inside a hand move's transaction (autopostctl cancel and
-- retry), locks one schedule and reads the state the move is checked
-- against. $1 schedule id. Answers status, generation, attempts; no row
-- when there is no such schedule.
SELECT status, generation, attempts FROM post_schedules WHERE id = $1 FOR UPDATE
