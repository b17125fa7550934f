from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TaskState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TASK_STATE_UNSPECIFIED: _ClassVar[TaskState]
    PENDING: _ClassVar[TaskState]
    SCHEDULED: _ClassVar[TaskState]
    STARTED: _ClassVar[TaskState]
    RETRY: _ClassVar[TaskState]
    SUCCESS: _ClassVar[TaskState]
    FAILURE: _ClassVar[TaskState]
    REVOKED: _ClassVar[TaskState]
    EXPIRED: _ClassVar[TaskState]
TASK_STATE_UNSPECIFIED: TaskState
PENDING: TaskState
SCHEDULED: TaskState
STARTED: TaskState
RETRY: TaskState
SUCCESS: TaskState
FAILURE: TaskState
REVOKED: TaskState
EXPIRED: TaskState

class TaskSpec(_message.Message):
    __slots__ = ("name", "queue", "args", "headers", "priority", "countdown_ms", "eta_ms", "expires_in_ms", "max_retries", "retry_delay_ms", "retry_factor", "retry_max_delay_ms", "retry_no_jitter", "timeout_ms", "idempotency_key", "result_ttl_ms", "delivery_limit", "concurrency_key", "concurrency_limit")
    class HeadersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    ARGS_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    COUNTDOWN_MS_FIELD_NUMBER: _ClassVar[int]
    ETA_MS_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_IN_MS_FIELD_NUMBER: _ClassVar[int]
    MAX_RETRIES_FIELD_NUMBER: _ClassVar[int]
    RETRY_DELAY_MS_FIELD_NUMBER: _ClassVar[int]
    RETRY_FACTOR_FIELD_NUMBER: _ClassVar[int]
    RETRY_MAX_DELAY_MS_FIELD_NUMBER: _ClassVar[int]
    RETRY_NO_JITTER_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    RESULT_TTL_MS_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_LIMIT_FIELD_NUMBER: _ClassVar[int]
    CONCURRENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    CONCURRENCY_LIMIT_FIELD_NUMBER: _ClassVar[int]
    name: str
    queue: str
    args: bytes
    headers: _containers.ScalarMap[str, str]
    priority: int
    countdown_ms: int
    eta_ms: int
    expires_in_ms: int
    max_retries: int
    retry_delay_ms: int
    retry_factor: float
    retry_max_delay_ms: int
    retry_no_jitter: bool
    timeout_ms: int
    idempotency_key: str
    result_ttl_ms: int
    delivery_limit: int
    concurrency_key: str
    concurrency_limit: int
    def __init__(self, name: _Optional[str] = ..., queue: _Optional[str] = ..., args: _Optional[bytes] = ..., headers: _Optional[_Mapping[str, str]] = ..., priority: _Optional[int] = ..., countdown_ms: _Optional[int] = ..., eta_ms: _Optional[int] = ..., expires_in_ms: _Optional[int] = ..., max_retries: _Optional[int] = ..., retry_delay_ms: _Optional[int] = ..., retry_factor: _Optional[float] = ..., retry_max_delay_ms: _Optional[int] = ..., retry_no_jitter: bool = ..., timeout_ms: _Optional[int] = ..., idempotency_key: _Optional[str] = ..., result_ttl_ms: _Optional[int] = ..., delivery_limit: _Optional[int] = ..., concurrency_key: _Optional[str] = ..., concurrency_limit: _Optional[int] = ...) -> None: ...

class SubmitRequest(_message.Message):
    __slots__ = ("task",)
    TASK_FIELD_NUMBER: _ClassVar[int]
    task: TaskSpec
    def __init__(self, task: _Optional[_Union[TaskSpec, _Mapping]] = ...) -> None: ...

class SubmitResponse(_message.Message):
    __slots__ = ("id", "state", "duplicate")
    ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    id: str
    state: TaskState
    duplicate: bool
    def __init__(self, id: _Optional[str] = ..., state: _Optional[_Union[TaskState, str]] = ..., duplicate: bool = ...) -> None: ...

class SubmitBatchRequest(_message.Message):
    __slots__ = ("tasks",)
    TASKS_FIELD_NUMBER: _ClassVar[int]
    tasks: _containers.RepeatedCompositeFieldContainer[TaskSpec]
    def __init__(self, tasks: _Optional[_Iterable[_Union[TaskSpec, _Mapping]]] = ...) -> None: ...

class SubmitBatchResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[SubmitResponse]
    def __init__(self, results: _Optional[_Iterable[_Union[SubmitResponse, _Mapping]]] = ...) -> None: ...

class GetTaskRequest(_message.Message):
    __slots__ = ("id", "linearizable")
    ID_FIELD_NUMBER: _ClassVar[int]
    LINEARIZABLE_FIELD_NUMBER: _ClassVar[int]
    id: str
    linearizable: bool
    def __init__(self, id: _Optional[str] = ..., linearizable: bool = ...) -> None: ...

class Task(_message.Message):
    __slots__ = ("id", "name", "queue", "state", "priority", "attempts", "worker", "args", "headers", "result", "error", "created_at_ms", "eta_ms", "expires_at_ms", "started_at_ms", "finished_at_ms", "retries", "max_retries", "retry_at_ms", "timeout_ms", "idempotency_key", "delivery", "lease_deadline_ms")
    class HeadersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    WORKER_FIELD_NUMBER: _ClassVar[int]
    ARGS_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    ETA_MS_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_MS_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    RETRIES_FIELD_NUMBER: _ClassVar[int]
    MAX_RETRIES_FIELD_NUMBER: _ClassVar[int]
    RETRY_AT_MS_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_FIELD_NUMBER: _ClassVar[int]
    LEASE_DEADLINE_MS_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    queue: str
    state: TaskState
    priority: int
    attempts: int
    worker: str
    args: bytes
    headers: _containers.ScalarMap[str, str]
    result: bytes
    error: str
    created_at_ms: int
    eta_ms: int
    expires_at_ms: int
    started_at_ms: int
    finished_at_ms: int
    retries: int
    max_retries: int
    retry_at_ms: int
    timeout_ms: int
    idempotency_key: str
    delivery: int
    lease_deadline_ms: int
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., queue: _Optional[str] = ..., state: _Optional[_Union[TaskState, str]] = ..., priority: _Optional[int] = ..., attempts: _Optional[int] = ..., worker: _Optional[str] = ..., args: _Optional[bytes] = ..., headers: _Optional[_Mapping[str, str]] = ..., result: _Optional[bytes] = ..., error: _Optional[str] = ..., created_at_ms: _Optional[int] = ..., eta_ms: _Optional[int] = ..., expires_at_ms: _Optional[int] = ..., started_at_ms: _Optional[int] = ..., finished_at_ms: _Optional[int] = ..., retries: _Optional[int] = ..., max_retries: _Optional[int] = ..., retry_at_ms: _Optional[int] = ..., timeout_ms: _Optional[int] = ..., idempotency_key: _Optional[str] = ..., delivery: _Optional[int] = ..., lease_deadline_ms: _Optional[int] = ...) -> None: ...

class GetTaskResponse(_message.Message):
    __slots__ = ("task", "applied_index")
    TASK_FIELD_NUMBER: _ClassVar[int]
    APPLIED_INDEX_FIELD_NUMBER: _ClassVar[int]
    task: Task
    applied_index: int
    def __init__(self, task: _Optional[_Union[Task, _Mapping]] = ..., applied_index: _Optional[int] = ...) -> None: ...

class WaitRequest(_message.Message):
    __slots__ = ("id", "timeout_ms")
    ID_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    id: str
    timeout_ms: int
    def __init__(self, id: _Optional[str] = ..., timeout_ms: _Optional[int] = ...) -> None: ...

class WaitResponse(_message.Message):
    __slots__ = ("task", "finished")
    TASK_FIELD_NUMBER: _ClassVar[int]
    FINISHED_FIELD_NUMBER: _ClassVar[int]
    task: Task
    finished: bool
    def __init__(self, task: _Optional[_Union[Task, _Mapping]] = ..., finished: bool = ...) -> None: ...

class RevokeRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class RevokeResponse(_message.Message):
    __slots__ = ("state",)
    STATE_FIELD_NUMBER: _ClassVar[int]
    state: TaskState
    def __init__(self, state: _Optional[_Union[TaskState, str]] = ...) -> None: ...

class ListTasksRequest(_message.Message):
    __slots__ = ("queue", "state", "name", "limit", "linearizable")
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    LINEARIZABLE_FIELD_NUMBER: _ClassVar[int]
    queue: str
    state: TaskState
    name: str
    limit: int
    linearizable: bool
    def __init__(self, queue: _Optional[str] = ..., state: _Optional[_Union[TaskState, str]] = ..., name: _Optional[str] = ..., limit: _Optional[int] = ..., linearizable: bool = ...) -> None: ...

class ListTasksResponse(_message.Message):
    __slots__ = ("tasks", "truncated")
    TASKS_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    tasks: _containers.RepeatedCompositeFieldContainer[Task]
    truncated: bool
    def __init__(self, tasks: _Optional[_Iterable[_Union[Task, _Mapping]]] = ..., truncated: bool = ...) -> None: ...

class WatchFinishedRequest(_message.Message):
    __slots__ = ("queue", "after_seq", "with_results")
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    AFTER_SEQ_FIELD_NUMBER: _ClassVar[int]
    WITH_RESULTS_FIELD_NUMBER: _ClassVar[int]
    queue: str
    after_seq: int
    with_results: bool
    def __init__(self, queue: _Optional[str] = ..., after_seq: _Optional[int] = ..., with_results: bool = ...) -> None: ...

class FinishedTask(_message.Message):
    __slots__ = ("id", "queue", "state", "finished_at_ms", "seq", "name", "result", "error")
    ID_FIELD_NUMBER: _ClassVar[int]
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    id: str
    queue: str
    state: TaskState
    finished_at_ms: int
    seq: int
    name: str
    result: bytes
    error: str
    def __init__(self, id: _Optional[str] = ..., queue: _Optional[str] = ..., state: _Optional[_Union[TaskState, str]] = ..., finished_at_ms: _Optional[int] = ..., seq: _Optional[int] = ..., name: _Optional[str] = ..., result: _Optional[bytes] = ..., error: _Optional[str] = ...) -> None: ...

class FinishedTasks(_message.Message):
    __slots__ = ("tasks",)
    TASKS_FIELD_NUMBER: _ClassVar[int]
    tasks: _containers.RepeatedCompositeFieldContainer[FinishedTask]
    def __init__(self, tasks: _Optional[_Iterable[_Union[FinishedTask, _Mapping]]] = ...) -> None: ...
