"""The job platform: Celery app, typed job specs, claim/run/finish, doorbell, reaper,
sharded inference and the shared tail of training jobs. No science here."""
