"""Contention-aware scheduling: write-sets, barriers, learned misses and admission (pure)."""

from app.scheduling.admission import plan_admission
from app.scheduling.barriers import DEFAULT_BARRIERS, BarrierRules, barrier_rules, find_hot_files
from app.scheduling.cochange import CoChange, Neighbour, build_cochange
from app.scheduling.history import Commit, parse_commit_lines, parse_git_log
from app.scheduling.misses import MissHistory, MissRecord, MissRules
from app.scheduling.queue import (
    AdmissionPlan,
    AdmissionRules,
    OpenPull,
    QueuedTask,
    RunningClaim,
    Waiting,
    rank_key,
)
from app.scheduling.writeset import Widening, WriteSet, claim_write_set, exact_write_set

__all__ = [
    "DEFAULT_BARRIERS",
    "AdmissionPlan",
    "AdmissionRules",
    "BarrierRules",
    "CoChange",
    "Commit",
    "MissHistory",
    "MissRecord",
    "MissRules",
    "Neighbour",
    "OpenPull",
    "QueuedTask",
    "RunningClaim",
    "Waiting",
    "Widening",
    "WriteSet",
    "barrier_rules",
    "build_cochange",
    "claim_write_set",
    "exact_write_set",
    "find_hot_files",
    "parse_commit_lines",
    "parse_git_log",
    "plan_admission",
    "rank_key",
]
