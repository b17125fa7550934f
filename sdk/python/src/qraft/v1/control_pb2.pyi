from qraft.v1 import tasks_pb2 as _tasks_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Misfire(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MISFIRE_UNSPECIFIED: _ClassVar[Misfire]
    MISFIRE_SKIP: _ClassVar[Misfire]
    MISFIRE_CATCH_UP: _ClassVar[Misfire]
MISFIRE_UNSPECIFIED: Misfire
MISFIRE_SKIP: Misfire
MISFIRE_CATCH_UP: Misfire

class RateLimit(_message.Message):
    __slots__ = ("scope", "count", "per_ms", "used", "frees_at_ms")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    PER_MS_FIELD_NUMBER: _ClassVar[int]
    USED_FIELD_NUMBER: _ClassVar[int]
    FREES_AT_MS_FIELD_NUMBER: _ClassVar[int]
    scope: str
    count: int
    per_ms: int
    used: int
    frees_at_ms: int
    def __init__(self, scope: _Optional[str] = ..., count: _Optional[int] = ..., per_ms: _Optional[int] = ..., used: _Optional[int] = ..., frees_at_ms: _Optional[int] = ...) -> None: ...

class SetLimitRequest(_message.Message):
    __slots__ = ("scope", "count", "per_ms")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    PER_MS_FIELD_NUMBER: _ClassVar[int]
    scope: str
    count: int
    per_ms: int
    def __init__(self, scope: _Optional[str] = ..., count: _Optional[int] = ..., per_ms: _Optional[int] = ...) -> None: ...

class SetLimitResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RemoveLimitRequest(_message.Message):
    __slots__ = ("scope",)
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    scope: str
    def __init__(self, scope: _Optional[str] = ...) -> None: ...

class RemoveLimitResponse(_message.Message):
    __slots__ = ("removed",)
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    removed: bool
    def __init__(self, removed: bool = ...) -> None: ...

class QueueCap(_message.Message):
    __slots__ = ("queue", "max_length", "max_bytes", "length", "bytes")
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    MAX_LENGTH_FIELD_NUMBER: _ClassVar[int]
    MAX_BYTES_FIELD_NUMBER: _ClassVar[int]
    LENGTH_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    queue: str
    max_length: int
    max_bytes: int
    length: int
    bytes: int
    def __init__(self, queue: _Optional[str] = ..., max_length: _Optional[int] = ..., max_bytes: _Optional[int] = ..., length: _Optional[int] = ..., bytes: _Optional[int] = ...) -> None: ...

class SetQueueCapRequest(_message.Message):
    __slots__ = ("scope", "cap", "value")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    CAP_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    scope: str
    cap: str
    value: int
    def __init__(self, scope: _Optional[str] = ..., cap: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...

class SetQueueCapResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StoreUsage(_message.Message):
    __slots__ = ("tasks", "max_tasks", "bytes", "max_bytes")
    TASKS_FIELD_NUMBER: _ClassVar[int]
    MAX_TASKS_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_BYTES_FIELD_NUMBER: _ClassVar[int]
    tasks: int
    max_tasks: int
    bytes: int
    max_bytes: int
    def __init__(self, tasks: _Optional[int] = ..., max_tasks: _Optional[int] = ..., bytes: _Optional[int] = ..., max_bytes: _Optional[int] = ...) -> None: ...

class ListLimitsRequest(_message.Message):
    __slots__ = ("linearizable",)
    LINEARIZABLE_FIELD_NUMBER: _ClassVar[int]
    linearizable: bool
    def __init__(self, linearizable: bool = ...) -> None: ...

class KeyUsage(_message.Message):
    __slots__ = ("key", "running")
    KEY_FIELD_NUMBER: _ClassVar[int]
    RUNNING_FIELD_NUMBER: _ClassVar[int]
    key: str
    running: int
    def __init__(self, key: _Optional[str] = ..., running: _Optional[int] = ...) -> None: ...

class ListLimitsResponse(_message.Message):
    __slots__ = ("limits", "keys", "now_ms", "caps", "store")
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    NOW_MS_FIELD_NUMBER: _ClassVar[int]
    CAPS_FIELD_NUMBER: _ClassVar[int]
    STORE_FIELD_NUMBER: _ClassVar[int]
    limits: _containers.RepeatedCompositeFieldContainer[RateLimit]
    keys: _containers.RepeatedCompositeFieldContainer[KeyUsage]
    now_ms: int
    caps: _containers.RepeatedCompositeFieldContainer[QueueCap]
    store: StoreUsage
    def __init__(self, limits: _Optional[_Iterable[_Union[RateLimit, _Mapping]]] = ..., keys: _Optional[_Iterable[_Union[KeyUsage, _Mapping]]] = ..., now_ms: _Optional[int] = ..., caps: _Optional[_Iterable[_Union[QueueCap, _Mapping]]] = ..., store: _Optional[_Union[StoreUsage, _Mapping]] = ...) -> None: ...

class ScheduleSpec(_message.Message):
    __slots__ = ("name", "task", "cron", "every_ms", "time_zone", "misfire", "catch_up_limit", "grace_ms")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    CRON_FIELD_NUMBER: _ClassVar[int]
    EVERY_MS_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    MISFIRE_FIELD_NUMBER: _ClassVar[int]
    CATCH_UP_LIMIT_FIELD_NUMBER: _ClassVar[int]
    GRACE_MS_FIELD_NUMBER: _ClassVar[int]
    name: str
    task: _tasks_pb2.TaskSpec
    cron: str
    every_ms: int
    time_zone: str
    misfire: Misfire
    catch_up_limit: int
    grace_ms: int
    def __init__(self, name: _Optional[str] = ..., task: _Optional[_Union[_tasks_pb2.TaskSpec, _Mapping]] = ..., cron: _Optional[str] = ..., every_ms: _Optional[int] = ..., time_zone: _Optional[str] = ..., misfire: _Optional[_Union[Misfire, str]] = ..., catch_up_limit: _Optional[int] = ..., grace_ms: _Optional[int] = ...) -> None: ...

class Schedule(_message.Message):
    __slots__ = ("spec", "paused", "next_run_ms", "last_run_ms", "last_task_id", "runs", "missed", "created_at_ms")
    SPEC_FIELD_NUMBER: _ClassVar[int]
    PAUSED_FIELD_NUMBER: _ClassVar[int]
    NEXT_RUN_MS_FIELD_NUMBER: _ClassVar[int]
    LAST_RUN_MS_FIELD_NUMBER: _ClassVar[int]
    LAST_TASK_ID_FIELD_NUMBER: _ClassVar[int]
    RUNS_FIELD_NUMBER: _ClassVar[int]
    MISSED_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    spec: ScheduleSpec
    paused: bool
    next_run_ms: int
    last_run_ms: int
    last_task_id: str
    runs: int
    missed: int
    created_at_ms: int
    def __init__(self, spec: _Optional[_Union[ScheduleSpec, _Mapping]] = ..., paused: bool = ..., next_run_ms: _Optional[int] = ..., last_run_ms: _Optional[int] = ..., last_task_id: _Optional[str] = ..., runs: _Optional[int] = ..., missed: _Optional[int] = ..., created_at_ms: _Optional[int] = ...) -> None: ...

class AddScheduleRequest(_message.Message):
    __slots__ = ("spec",)
    SPEC_FIELD_NUMBER: _ClassVar[int]
    spec: ScheduleSpec
    def __init__(self, spec: _Optional[_Union[ScheduleSpec, _Mapping]] = ...) -> None: ...

class AddScheduleResponse(_message.Message):
    __slots__ = ("schedule", "replaced")
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    REPLACED_FIELD_NUMBER: _ClassVar[int]
    schedule: Schedule
    replaced: bool
    def __init__(self, schedule: _Optional[_Union[Schedule, _Mapping]] = ..., replaced: bool = ...) -> None: ...

class ScheduleRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ScheduleResponse(_message.Message):
    __slots__ = ("schedule",)
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    schedule: Schedule
    def __init__(self, schedule: _Optional[_Union[Schedule, _Mapping]] = ...) -> None: ...

class RemoveScheduleResponse(_message.Message):
    __slots__ = ("removed",)
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    removed: bool
    def __init__(self, removed: bool = ...) -> None: ...

class ListSchedulesRequest(_message.Message):
    __slots__ = ("linearizable",)
    LINEARIZABLE_FIELD_NUMBER: _ClassVar[int]
    linearizable: bool
    def __init__(self, linearizable: bool = ...) -> None: ...

class ListSchedulesResponse(_message.Message):
    __slots__ = ("schedules", "now_ms")
    SCHEDULES_FIELD_NUMBER: _ClassVar[int]
    NOW_MS_FIELD_NUMBER: _ClassVar[int]
    schedules: _containers.RepeatedCompositeFieldContainer[Schedule]
    now_ms: int
    def __init__(self, schedules: _Optional[_Iterable[_Union[Schedule, _Mapping]]] = ..., now_ms: _Optional[int] = ...) -> None: ...
