from qraft.v1 import tasks_pb2 as _tasks_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class NodeRole(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NODE_ROLE_UNSPECIFIED: _ClassVar[NodeRole]
    LEADER: _ClassVar[NodeRole]
    FOLLOWER: _ClassVar[NodeRole]
    CANDIDATE: _ClassVar[NodeRole]
    LEARNER: _ClassVar[NodeRole]
    SHUTDOWN: _ClassVar[NodeRole]

class QueueAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    QUEUE_ACTION_UNSPECIFIED: _ClassVar[QueueAction]
    PAUSED: _ClassVar[QueueAction]
    RESUMED: _ClassVar[QueueAction]
    PURGED: _ClassVar[QueueAction]
    DEAD_RETRIED: _ClassVar[QueueAction]
    DEAD_PURGED: _ClassVar[QueueAction]

class MemberChangeKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MEMBER_CHANGE_UNSPECIFIED: _ClassVar[MemberChangeKind]
    MEMBER_LEARNER: _ClassVar[MemberChangeKind]
    MEMBER_VOTER: _ClassVar[MemberChangeKind]
    MEMBER_REMOVED: _ClassVar[MemberChangeKind]
NODE_ROLE_UNSPECIFIED: NodeRole
LEADER: NodeRole
FOLLOWER: NodeRole
CANDIDATE: NodeRole
LEARNER: NodeRole
SHUTDOWN: NodeRole
QUEUE_ACTION_UNSPECIFIED: QueueAction
PAUSED: QueueAction
RESUMED: QueueAction
PURGED: QueueAction
DEAD_RETRIED: QueueAction
DEAD_PURGED: QueueAction
MEMBER_CHANGE_UNSPECIFIED: MemberChangeKind
MEMBER_LEARNER: MemberChangeKind
MEMBER_VOTER: MemberChangeKind
MEMBER_REMOVED: MemberChangeKind

class Member(_message.Message):
    __slots__ = ("id", "addr", "voter")
    ID_FIELD_NUMBER: _ClassVar[int]
    ADDR_FIELD_NUMBER: _ClassVar[int]
    VOTER_FIELD_NUMBER: _ClassVar[int]
    id: int
    addr: str
    voter: bool
    def __init__(self, id: _Optional[int] = ..., addr: _Optional[str] = ..., voter: bool = ...) -> None: ...

class NodeStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PeerProgress(_message.Message):
    __slots__ = ("id", "matched_index", "has_matched", "lag", "last_ack_ms_ago")
    ID_FIELD_NUMBER: _ClassVar[int]
    MATCHED_INDEX_FIELD_NUMBER: _ClassVar[int]
    HAS_MATCHED_FIELD_NUMBER: _ClassVar[int]
    LAG_FIELD_NUMBER: _ClassVar[int]
    LAST_ACK_MS_AGO_FIELD_NUMBER: _ClassVar[int]
    id: int
    matched_index: int
    has_matched: bool
    lag: int
    last_ack_ms_ago: int
    def __init__(self, id: _Optional[int] = ..., matched_index: _Optional[int] = ..., has_matched: bool = ..., lag: _Optional[int] = ..., last_ack_ms_ago: _Optional[int] = ...) -> None: ...

class NodeStatus(_message.Message):
    __slots__ = ("id", "addr", "role", "term", "last_log_index", "applied_index", "snapshot_index", "purged_index", "leader_id", "leader_addr", "members", "cluster_name", "version", "task_count", "committed_index", "peers", "unreachable", "membership_changing", "active_members", "wall_ms", "clock_skew_ms", "stages")
    ID_FIELD_NUMBER: _ClassVar[int]
    ADDR_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    TERM_FIELD_NUMBER: _ClassVar[int]
    LAST_LOG_INDEX_FIELD_NUMBER: _ClassVar[int]
    APPLIED_INDEX_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_INDEX_FIELD_NUMBER: _ClassVar[int]
    PURGED_INDEX_FIELD_NUMBER: _ClassVar[int]
    LEADER_ID_FIELD_NUMBER: _ClassVar[int]
    LEADER_ADDR_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    TASK_COUNT_FIELD_NUMBER: _ClassVar[int]
    COMMITTED_INDEX_FIELD_NUMBER: _ClassVar[int]
    PEERS_FIELD_NUMBER: _ClassVar[int]
    UNREACHABLE_FIELD_NUMBER: _ClassVar[int]
    MEMBERSHIP_CHANGING_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_MEMBERS_FIELD_NUMBER: _ClassVar[int]
    WALL_MS_FIELD_NUMBER: _ClassVar[int]
    CLOCK_SKEW_MS_FIELD_NUMBER: _ClassVar[int]
    STAGES_FIELD_NUMBER: _ClassVar[int]
    id: int
    addr: str
    role: NodeRole
    term: int
    last_log_index: int
    applied_index: int
    snapshot_index: int
    purged_index: int
    leader_id: int
    leader_addr: str
    members: _containers.RepeatedCompositeFieldContainer[Member]
    cluster_name: str
    version: str
    task_count: int
    committed_index: int
    peers: _containers.RepeatedCompositeFieldContainer[PeerProgress]
    unreachable: _containers.RepeatedScalarFieldContainer[int]
    membership_changing: bool
    active_members: _containers.RepeatedScalarFieldContainer[int]
    wall_ms: int
    clock_skew_ms: int
    stages: _containers.RepeatedCompositeFieldContainer[StageTiming]
    def __init__(self, id: _Optional[int] = ..., addr: _Optional[str] = ..., role: _Optional[_Union[NodeRole, str]] = ..., term: _Optional[int] = ..., last_log_index: _Optional[int] = ..., applied_index: _Optional[int] = ..., snapshot_index: _Optional[int] = ..., purged_index: _Optional[int] = ..., leader_id: _Optional[int] = ..., leader_addr: _Optional[str] = ..., members: _Optional[_Iterable[_Union[Member, _Mapping]]] = ..., cluster_name: _Optional[str] = ..., version: _Optional[str] = ..., task_count: _Optional[int] = ..., committed_index: _Optional[int] = ..., peers: _Optional[_Iterable[_Union[PeerProgress, _Mapping]]] = ..., unreachable: _Optional[_Iterable[int]] = ..., membership_changing: bool = ..., active_members: _Optional[_Iterable[int]] = ..., wall_ms: _Optional[int] = ..., clock_skew_ms: _Optional[int] = ..., stages: _Optional[_Iterable[_Union[StageTiming, _Mapping]]] = ...) -> None: ...

class StageTiming(_message.Message):
    __slots__ = ("name", "sum_seconds", "first_bound_seconds", "factor", "buckets")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SUM_SECONDS_FIELD_NUMBER: _ClassVar[int]
    FIRST_BOUND_SECONDS_FIELD_NUMBER: _ClassVar[int]
    FACTOR_FIELD_NUMBER: _ClassVar[int]
    BUCKETS_FIELD_NUMBER: _ClassVar[int]
    name: str
    sum_seconds: float
    first_bound_seconds: float
    factor: float
    buckets: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, name: _Optional[str] = ..., sum_seconds: _Optional[float] = ..., first_bound_seconds: _Optional[float] = ..., factor: _Optional[float] = ..., buckets: _Optional[_Iterable[int]] = ...) -> None: ...

class ListQueuesRequest(_message.Message):
    __slots__ = ("linearizable",)
    LINEARIZABLE_FIELD_NUMBER: _ClassVar[int]
    linearizable: bool
    def __init__(self, linearizable: bool = ...) -> None: ...

class QueueStats(_message.Message):
    __slots__ = ("name", "ready", "scheduled", "started", "retry", "dead", "succeeded", "revoked", "expired", "paused", "enqueued_per_s", "completed_per_s", "failed_per_s", "enqueued_total", "completed_total", "failed_total", "consumers", "unhandled")
    NAME_FIELD_NUMBER: _ClassVar[int]
    READY_FIELD_NUMBER: _ClassVar[int]
    SCHEDULED_FIELD_NUMBER: _ClassVar[int]
    STARTED_FIELD_NUMBER: _ClassVar[int]
    RETRY_FIELD_NUMBER: _ClassVar[int]
    DEAD_FIELD_NUMBER: _ClassVar[int]
    SUCCEEDED_FIELD_NUMBER: _ClassVar[int]
    REVOKED_FIELD_NUMBER: _ClassVar[int]
    EXPIRED_FIELD_NUMBER: _ClassVar[int]
    PAUSED_FIELD_NUMBER: _ClassVar[int]
    ENQUEUED_PER_S_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_PER_S_FIELD_NUMBER: _ClassVar[int]
    FAILED_PER_S_FIELD_NUMBER: _ClassVar[int]
    ENQUEUED_TOTAL_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_TOTAL_FIELD_NUMBER: _ClassVar[int]
    FAILED_TOTAL_FIELD_NUMBER: _ClassVar[int]
    CONSUMERS_FIELD_NUMBER: _ClassVar[int]
    UNHANDLED_FIELD_NUMBER: _ClassVar[int]
    name: str
    ready: int
    scheduled: int
    started: int
    retry: int
    dead: int
    succeeded: int
    revoked: int
    expired: int
    paused: bool
    enqueued_per_s: float
    completed_per_s: float
    failed_per_s: float
    enqueued_total: int
    completed_total: int
    failed_total: int
    consumers: int
    unhandled: _containers.RepeatedCompositeFieldContainer[NameCount]
    def __init__(self, name: _Optional[str] = ..., ready: _Optional[int] = ..., scheduled: _Optional[int] = ..., started: _Optional[int] = ..., retry: _Optional[int] = ..., dead: _Optional[int] = ..., succeeded: _Optional[int] = ..., revoked: _Optional[int] = ..., expired: _Optional[int] = ..., paused: bool = ..., enqueued_per_s: _Optional[float] = ..., completed_per_s: _Optional[float] = ..., failed_per_s: _Optional[float] = ..., enqueued_total: _Optional[int] = ..., completed_total: _Optional[int] = ..., failed_total: _Optional[int] = ..., consumers: _Optional[int] = ..., unhandled: _Optional[_Iterable[_Union[NameCount, _Mapping]]] = ...) -> None: ...

class NameCount(_message.Message):
    __slots__ = ("name", "count")
    NAME_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    name: str
    count: int
    def __init__(self, name: _Optional[str] = ..., count: _Optional[int] = ...) -> None: ...

class ListQueuesResponse(_message.Message):
    __slots__ = ("queues",)
    QUEUES_FIELD_NUMBER: _ClassVar[int]
    queues: _containers.RepeatedCompositeFieldContainer[QueueStats]
    def __init__(self, queues: _Optional[_Iterable[_Union[QueueStats, _Mapping]]] = ...) -> None: ...

class QueueRequest(_message.Message):
    __slots__ = ("queue",)
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    queue: str
    def __init__(self, queue: _Optional[str] = ...) -> None: ...

class QueueResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CountResponse(_message.Message):
    __slots__ = ("count",)
    COUNT_FIELD_NUMBER: _ClassVar[int]
    count: int
    def __init__(self, count: _Optional[int] = ...) -> None: ...

class ListDeadRequest(_message.Message):
    __slots__ = ("queue", "limit", "linearizable")
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    LINEARIZABLE_FIELD_NUMBER: _ClassVar[int]
    queue: str
    limit: int
    linearizable: bool
    def __init__(self, queue: _Optional[str] = ..., limit: _Optional[int] = ..., linearizable: bool = ...) -> None: ...

class DeadRequest(_message.Message):
    __slots__ = ("id", "queue", "all")
    ID_FIELD_NUMBER: _ClassVar[int]
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    ALL_FIELD_NUMBER: _ClassVar[int]
    id: str
    queue: str
    all: bool
    def __init__(self, id: _Optional[str] = ..., queue: _Optional[str] = ..., all: bool = ...) -> None: ...

class ListWorkersRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class WorkerStatus(_message.Message):
    __slots__ = ("id", "node", "kind", "queues", "concurrency", "active", "processed", "failed", "last_seen_ms", "registered_at_ms", "names")
    ID_FIELD_NUMBER: _ClassVar[int]
    NODE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    QUEUES_FIELD_NUMBER: _ClassVar[int]
    CONCURRENCY_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    PROCESSED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_MS_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    NAMES_FIELD_NUMBER: _ClassVar[int]
    id: str
    node: str
    kind: str
    queues: _containers.RepeatedScalarFieldContainer[str]
    concurrency: int
    active: int
    processed: int
    failed: int
    last_seen_ms: int
    registered_at_ms: int
    names: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[str] = ..., node: _Optional[str] = ..., kind: _Optional[str] = ..., queues: _Optional[_Iterable[str]] = ..., concurrency: _Optional[int] = ..., active: _Optional[int] = ..., processed: _Optional[int] = ..., failed: _Optional[int] = ..., last_seen_ms: _Optional[int] = ..., registered_at_ms: _Optional[int] = ..., names: _Optional[_Iterable[str]] = ...) -> None: ...

class ListWorkersResponse(_message.Message):
    __slots__ = ("workers", "now_ms")
    WORKERS_FIELD_NUMBER: _ClassVar[int]
    NOW_MS_FIELD_NUMBER: _ClassVar[int]
    workers: _containers.RepeatedCompositeFieldContainer[WorkerStatus]
    now_ms: int
    def __init__(self, workers: _Optional[_Iterable[_Union[WorkerStatus, _Mapping]]] = ..., now_ms: _Optional[int] = ...) -> None: ...

class WatchEventsRequest(_message.Message):
    __slots__ = ("after_seq",)
    AFTER_SEQ_FIELD_NUMBER: _ClassVar[int]
    after_seq: int
    def __init__(self, after_seq: _Optional[int] = ...) -> None: ...

class LeaderElected(_message.Message):
    __slots__ = ("node", "term", "election_ms", "previous")
    NODE_FIELD_NUMBER: _ClassVar[int]
    TERM_FIELD_NUMBER: _ClassVar[int]
    ELECTION_MS_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_FIELD_NUMBER: _ClassVar[int]
    node: int
    term: int
    election_ms: int
    previous: int
    def __init__(self, node: _Optional[int] = ..., term: _Optional[int] = ..., election_ms: _Optional[int] = ..., previous: _Optional[int] = ...) -> None: ...

class NodeReachability(_message.Message):
    __slots__ = ("node", "reachable")
    NODE_FIELD_NUMBER: _ClassVar[int]
    REACHABLE_FIELD_NUMBER: _ClassVar[int]
    node: int
    reachable: bool
    def __init__(self, node: _Optional[int] = ..., reachable: bool = ...) -> None: ...

class WorkerChange(_message.Message):
    __slots__ = ("worker", "node", "joined", "timed_out")
    WORKER_FIELD_NUMBER: _ClassVar[int]
    NODE_FIELD_NUMBER: _ClassVar[int]
    JOINED_FIELD_NUMBER: _ClassVar[int]
    TIMED_OUT_FIELD_NUMBER: _ClassVar[int]
    worker: str
    node: str
    joined: bool
    timed_out: bool
    def __init__(self, worker: _Optional[str] = ..., node: _Optional[str] = ..., joined: bool = ..., timed_out: bool = ...) -> None: ...

class TaskFailed(_message.Message):
    __slots__ = ("id", "name", "queue", "error", "dead")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    DEAD_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    queue: str
    error: str
    dead: bool
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., queue: _Optional[str] = ..., error: _Optional[str] = ..., dead: bool = ...) -> None: ...

class MembershipChange(_message.Message):
    __slots__ = ("node", "addr", "change")
    NODE_FIELD_NUMBER: _ClassVar[int]
    ADDR_FIELD_NUMBER: _ClassVar[int]
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    node: int
    addr: str
    change: MemberChangeKind
    def __init__(self, node: _Optional[int] = ..., addr: _Optional[str] = ..., change: _Optional[_Union[MemberChangeKind, str]] = ...) -> None: ...

class ClockSkew(_message.Message):
    __slots__ = ("node", "skew_ms", "in_step")
    NODE_FIELD_NUMBER: _ClassVar[int]
    SKEW_MS_FIELD_NUMBER: _ClassVar[int]
    IN_STEP_FIELD_NUMBER: _ClassVar[int]
    node: int
    skew_ms: int
    in_step: bool
    def __init__(self, node: _Optional[int] = ..., skew_ms: _Optional[int] = ..., in_step: bool = ...) -> None: ...

class LogReverted(_message.Message):
    __slots__ = ("node",)
    NODE_FIELD_NUMBER: _ClassVar[int]
    node: int
    def __init__(self, node: _Optional[int] = ...) -> None: ...

class QueueChange(_message.Message):
    __slots__ = ("queue", "action", "count")
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    queue: str
    action: QueueAction
    count: int
    def __init__(self, queue: _Optional[str] = ..., action: _Optional[_Union[QueueAction, str]] = ..., count: _Optional[int] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ("seq", "at_ms", "leader_elected", "node", "worker", "task_failed", "queue", "membership", "clock", "log_reverted")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    AT_MS_FIELD_NUMBER: _ClassVar[int]
    LEADER_ELECTED_FIELD_NUMBER: _ClassVar[int]
    NODE_FIELD_NUMBER: _ClassVar[int]
    WORKER_FIELD_NUMBER: _ClassVar[int]
    TASK_FAILED_FIELD_NUMBER: _ClassVar[int]
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    MEMBERSHIP_FIELD_NUMBER: _ClassVar[int]
    CLOCK_FIELD_NUMBER: _ClassVar[int]
    LOG_REVERTED_FIELD_NUMBER: _ClassVar[int]
    seq: int
    at_ms: int
    leader_elected: LeaderElected
    node: NodeReachability
    worker: WorkerChange
    task_failed: TaskFailed
    queue: QueueChange
    membership: MembershipChange
    clock: ClockSkew
    log_reverted: LogReverted
    def __init__(self, seq: _Optional[int] = ..., at_ms: _Optional[int] = ..., leader_elected: _Optional[_Union[LeaderElected, _Mapping]] = ..., node: _Optional[_Union[NodeReachability, _Mapping]] = ..., worker: _Optional[_Union[WorkerChange, _Mapping]] = ..., task_failed: _Optional[_Union[TaskFailed, _Mapping]] = ..., queue: _Optional[_Union[QueueChange, _Mapping]] = ..., membership: _Optional[_Union[MembershipChange, _Mapping]] = ..., clock: _Optional[_Union[ClockSkew, _Mapping]] = ..., log_reverted: _Optional[_Union[LogReverted, _Mapping]] = ...) -> None: ...

class Events(_message.Message):
    __slots__ = ("events",)
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[Event]
    def __init__(self, events: _Optional[_Iterable[_Union[Event, _Mapping]]] = ...) -> None: ...

class TransferLeaderRequest(_message.Message):
    __slots__ = ("to",)
    TO_FIELD_NUMBER: _ClassVar[int]
    to: int
    def __init__(self, to: _Optional[int] = ...) -> None: ...

class TransferLeaderResponse(_message.Message):
    __slots__ = ("leader_id", "leader_addr", "pause_ms")
    LEADER_ID_FIELD_NUMBER: _ClassVar[int]
    LEADER_ADDR_FIELD_NUMBER: _ClassVar[int]
    PAUSE_MS_FIELD_NUMBER: _ClassVar[int]
    leader_id: int
    leader_addr: str
    pause_ms: int
    def __init__(self, leader_id: _Optional[int] = ..., leader_addr: _Optional[str] = ..., pause_ms: _Optional[int] = ...) -> None: ...

class AddNodeRequest(_message.Message):
    __slots__ = ("id", "addr", "timeout_ms")
    ID_FIELD_NUMBER: _ClassVar[int]
    ADDR_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    id: int
    addr: str
    timeout_ms: int
    def __init__(self, id: _Optional[int] = ..., addr: _Optional[str] = ..., timeout_ms: _Optional[int] = ...) -> None: ...

class AddNodeResponse(_message.Message):
    __slots__ = ("added", "took_ms", "members")
    ADDED_FIELD_NUMBER: _ClassVar[int]
    TOOK_MS_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    added: bool
    took_ms: int
    members: _containers.RepeatedCompositeFieldContainer[Member]
    def __init__(self, added: bool = ..., took_ms: _Optional[int] = ..., members: _Optional[_Iterable[_Union[Member, _Mapping]]] = ...) -> None: ...

class RemoveNodeRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: int
    def __init__(self, id: _Optional[int] = ...) -> None: ...

class RemoveNodeResponse(_message.Message):
    __slots__ = ("removed", "members")
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    removed: bool
    members: _containers.RepeatedCompositeFieldContainer[Member]
    def __init__(self, removed: bool = ..., members: _Optional[_Iterable[_Union[Member, _Mapping]]] = ...) -> None: ...
