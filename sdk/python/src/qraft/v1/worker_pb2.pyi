from qraft.v1 import tasks_pb2 as _tasks_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AnswerRefusal(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ANSWER_TAKEN: _ClassVar[AnswerRefusal]
    ANSWER_STALE_LEASE: _ClassVar[AnswerRefusal]
    ANSWER_REVOKED: _ClassVar[AnswerRefusal]
    ANSWER_NOT_FOUND: _ClassVar[AnswerRefusal]
    ANSWER_INVALID: _ClassVar[AnswerRefusal]
ANSWER_TAKEN: AnswerRefusal
ANSWER_STALE_LEASE: AnswerRefusal
ANSWER_REVOKED: AnswerRefusal
ANSWER_NOT_FOUND: AnswerRefusal
ANSWER_INVALID: AnswerRefusal

class LeaseRequest(_message.Message):
    __slots__ = ("worker_id", "queues", "names", "max", "lease_ms", "wait_ms", "recover", "held")
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    QUEUES_FIELD_NUMBER: _ClassVar[int]
    NAMES_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    LEASE_MS_FIELD_NUMBER: _ClassVar[int]
    WAIT_MS_FIELD_NUMBER: _ClassVar[int]
    RECOVER_FIELD_NUMBER: _ClassVar[int]
    HELD_FIELD_NUMBER: _ClassVar[int]
    worker_id: str
    queues: _containers.RepeatedScalarFieldContainer[str]
    names: _containers.RepeatedScalarFieldContainer[str]
    max: int
    lease_ms: int
    wait_ms: int
    recover: bool
    held: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, worker_id: _Optional[str] = ..., queues: _Optional[_Iterable[str]] = ..., names: _Optional[_Iterable[str]] = ..., max: _Optional[int] = ..., lease_ms: _Optional[int] = ..., wait_ms: _Optional[int] = ..., recover: bool = ..., held: _Optional[_Iterable[str]] = ...) -> None: ...

class LeasedTask(_message.Message):
    __slots__ = ("id", "delivery", "deadline_ms", "name", "queue", "args", "headers", "timeout_ms", "attempts")
    class HeadersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_MS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    ARGS_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    id: str
    delivery: int
    deadline_ms: int
    name: str
    queue: str
    args: bytes
    headers: _containers.ScalarMap[str, str]
    timeout_ms: int
    attempts: int
    def __init__(self, id: _Optional[str] = ..., delivery: _Optional[int] = ..., deadline_ms: _Optional[int] = ..., name: _Optional[str] = ..., queue: _Optional[str] = ..., args: _Optional[bytes] = ..., headers: _Optional[_Mapping[str, str]] = ..., timeout_ms: _Optional[int] = ..., attempts: _Optional[int] = ...) -> None: ...

class LeaseResponse(_message.Message):
    __slots__ = ("tasks",)
    TASKS_FIELD_NUMBER: _ClassVar[int]
    tasks: _containers.RepeatedCompositeFieldContainer[LeasedTask]
    def __init__(self, tasks: _Optional[_Iterable[_Union[LeasedTask, _Mapping]]] = ...) -> None: ...

class ReleaseRequest(_message.Message):
    __slots__ = ("id", "delivery")
    ID_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_FIELD_NUMBER: _ClassVar[int]
    id: str
    delivery: int
    def __init__(self, id: _Optional[str] = ..., delivery: _Optional[int] = ...) -> None: ...

class AckRequest(_message.Message):
    __slots__ = ("id", "delivery", "result")
    ID_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    id: str
    delivery: int
    result: bytes
    def __init__(self, id: _Optional[str] = ..., delivery: _Optional[int] = ..., result: _Optional[bytes] = ...) -> None: ...

class FailRequest(_message.Message):
    __slots__ = ("id", "delivery", "error", "no_retry", "retry_in_ms")
    ID_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    NO_RETRY_FIELD_NUMBER: _ClassVar[int]
    RETRY_IN_MS_FIELD_NUMBER: _ClassVar[int]
    id: str
    delivery: int
    error: str
    no_retry: bool
    retry_in_ms: int
    def __init__(self, id: _Optional[str] = ..., delivery: _Optional[int] = ..., error: _Optional[str] = ..., no_retry: bool = ..., retry_in_ms: _Optional[int] = ...) -> None: ...

class ExtendRequest(_message.Message):
    __slots__ = ("id", "delivery", "lease_ms")
    ID_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_FIELD_NUMBER: _ClassVar[int]
    LEASE_MS_FIELD_NUMBER: _ClassVar[int]
    id: str
    delivery: int
    lease_ms: int
    def __init__(self, id: _Optional[str] = ..., delivery: _Optional[int] = ..., lease_ms: _Optional[int] = ...) -> None: ...

class Answer(_message.Message):
    __slots__ = ("id", "delivery", "result", "failure", "release")
    ID_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    FAILURE_FIELD_NUMBER: _ClassVar[int]
    RELEASE_FIELD_NUMBER: _ClassVar[int]
    id: str
    delivery: int
    result: bytes
    failure: Failure
    release: HandBack
    def __init__(self, id: _Optional[str] = ..., delivery: _Optional[int] = ..., result: _Optional[bytes] = ..., failure: _Optional[_Union[Failure, _Mapping]] = ..., release: _Optional[_Union[HandBack, _Mapping]] = ...) -> None: ...

class Failure(_message.Message):
    __slots__ = ("error", "no_retry", "retry_in_ms")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    NO_RETRY_FIELD_NUMBER: _ClassVar[int]
    RETRY_IN_MS_FIELD_NUMBER: _ClassVar[int]
    error: str
    no_retry: bool
    retry_in_ms: int
    def __init__(self, error: _Optional[str] = ..., no_retry: bool = ..., retry_in_ms: _Optional[int] = ...) -> None: ...

class HandBack(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AnswerBatchRequest(_message.Message):
    __slots__ = ("answers",)
    ANSWERS_FIELD_NUMBER: _ClassVar[int]
    answers: _containers.RepeatedCompositeFieldContainer[Answer]
    def __init__(self, answers: _Optional[_Iterable[_Union[Answer, _Mapping]]] = ...) -> None: ...

class AnswerResult(_message.Message):
    __slots__ = ("state", "refusal", "message")
    STATE_FIELD_NUMBER: _ClassVar[int]
    REFUSAL_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    state: _tasks_pb2.TaskState
    refusal: AnswerRefusal
    message: str
    def __init__(self, state: _Optional[_Union[_tasks_pb2.TaskState, str]] = ..., refusal: _Optional[_Union[AnswerRefusal, str]] = ..., message: _Optional[str] = ...) -> None: ...

class AnswerBatchResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[AnswerResult]
    def __init__(self, results: _Optional[_Iterable[_Union[AnswerResult, _Mapping]]] = ...) -> None: ...

class AnswerResponse(_message.Message):
    __slots__ = ("state",)
    STATE_FIELD_NUMBER: _ClassVar[int]
    state: _tasks_pb2.TaskState
    def __init__(self, state: _Optional[_Union[_tasks_pb2.TaskState, str]] = ...) -> None: ...

class ExtendResponse(_message.Message):
    __slots__ = ("deadline_ms",)
    DEADLINE_MS_FIELD_NUMBER: _ClassVar[int]
    deadline_ms: int
    def __init__(self, deadline_ms: _Optional[int] = ...) -> None: ...

class RegisterRequest(_message.Message):
    __slots__ = ("worker_id", "node", "queues", "concurrency", "names")
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_FIELD_NUMBER: _ClassVar[int]
    QUEUES_FIELD_NUMBER: _ClassVar[int]
    CONCURRENCY_FIELD_NUMBER: _ClassVar[int]
    NAMES_FIELD_NUMBER: _ClassVar[int]
    worker_id: str
    node: str
    queues: _containers.RepeatedScalarFieldContainer[str]
    concurrency: int
    names: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, worker_id: _Optional[str] = ..., node: _Optional[str] = ..., queues: _Optional[_Iterable[str]] = ..., concurrency: _Optional[int] = ..., names: _Optional[_Iterable[str]] = ...) -> None: ...

class HeartbeatRequest(_message.Message):
    __slots__ = ("worker_id", "active")
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    worker_id: str
    active: int
    def __init__(self, worker_id: _Optional[str] = ..., active: _Optional[int] = ...) -> None: ...

class LeaveRequest(_message.Message):
    __slots__ = ("worker_id",)
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    worker_id: str
    def __init__(self, worker_id: _Optional[str] = ...) -> None: ...

class WorkerResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
