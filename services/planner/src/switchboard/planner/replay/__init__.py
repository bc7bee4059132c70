"""Replaying activations: what an operator uses to see what the bot did with a message, and to do it again.

A replay runs a recorded activation again, in one of two modes:

- `recorded`: a chosen callsystem version (by default the original's) runs against the original's journal,
  read-only: every step result comes from what the original saw, and nothing is dispatched, so no model
  or tool is called and nothing is written. A step the version asks for that the original never recorded
  stops the run and is reported (`not_recorded`). The report says whether the reply matches.
- `live`: a new activation (`replay-…`, with `replay_of`) goes through the normal path now: queued for
  the planners, its steps dispatched again to the workers.

By default a replay posts nothing; with `deliver` its reply goes through the normal reply path, unless
the original's reply was posted already (posted once) and the replay is not forced. Every replay appends
an entry to the audit stream (`sb:audit`) before it runs.
"""

from switchboard.planner.replay.engine import ReplayDeps, Replayer
from switchboard.planner.replay.records import RecordStore, Selection
from switchboard.planner.replay.report import ReplayMode, ReplayReport, ReplyView, Verdict

__all__ = ["RecordStore", "ReplayDeps", "ReplayMode", "ReplayReport", "Replayer", "ReplyView", "Selection",
           "Verdict"]
