from qraft.v1 import tasks_pb2 as _tasks_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class FlowKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FLOW_KIND_UNSPECIFIED: _ClassVar[FlowKind]
    CHAIN: _ClassVar[FlowKind]
    GROUP: _ClassVar[FlowKind]
    CHORD: _ClassVar[FlowKind]

class OnMemberFailure(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FAIL_CHORD: _ClassVar[OnMemberFailure]
    RUN_CALLBACK: _ClassVar[OnMemberFailure]

class FlowState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FLOW_STATE_UNSPECIFIED: _ClassVar[FlowState]
    FLOW_RUNNING: _ClassVar[FlowState]
    FLOW_SUCCEEDED: _ClassVar[FlowState]
    FLOW_FAILED: _ClassVar[FlowState]
FLOW_KIND_UNSPECIFIED: FlowKind
CHAIN: FlowKind
GROUP: FlowKind
CHORD: FlowKind
FAIL_CHORD: OnMemberFailure
RUN_CALLBACK: OnMemberFailure
FLOW_STATE_UNSPECIFIED: FlowState
FLOW_RUNNING: FlowState
FLOW_SUCCEEDED: FlowState
FLOW_FAILED: FlowState

class FlowStep(_message.Message):
    __slots__ = ("task", "immutable")
    TASK_FIELD_NUMBER: _ClassVar[int]
    IMMUTABLE_FIELD_NUMBER: _ClassVar[int]
    task: _tasks_pb2.TaskSpec
    immutable: bool
    def __init__(self, task: _Optional[_Union[_tasks_pb2.TaskSpec, _Mapping]] = ..., immutable: bool = ...) -> None: ...

class FlowSpec(_message.Message):
    __slots__ = ("kind", "steps", "callback", "on_failure", "idempotency_key", "result_ttl_ms")
    KIND_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    CALLBACK_FIELD_NUMBER: _ClassVar[int]
    ON_FAILURE_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    RESULT_TTL_MS_FIELD_NUMBER: _ClassVar[int]
    kind: FlowKind
    steps: _containers.RepeatedCompositeFieldContainer[FlowStep]
    callback: FlowStep
    on_failure: OnMemberFailure
    idempotency_key: str
    result_ttl_ms: int
    def __init__(self, kind: _Optional[_Union[FlowKind, str]] = ..., steps: _Optional[_Iterable[_Union[FlowStep, _Mapping]]] = ..., callback: _Optional[_Union[FlowStep, _Mapping]] = ..., on_failure: _Optional[_Union[OnMemberFailure, str]] = ..., idempotency_key: _Optional[str] = ..., result_ttl_ms: _Optional[int] = ...) -> None: ...

class SubmitFlowRequest(_message.Message):
    __slots__ = ("flow",)
    FLOW_FIELD_NUMBER: _ClassVar[int]
    flow: FlowSpec
    def __init__(self, flow: _Optional[_Union[FlowSpec, _Mapping]] = ...) -> None: ...

class SubmitFlowResponse(_message.Message):
    __slots__ = ("id", "duplicate")
    ID_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    id: str
    duplicate: bool
    def __init__(self, id: _Optional[str] = ..., duplicate: bool = ...) -> None: ...

class FlowPart(_message.Message):
    __slots__ = ("task_id", "name", "state", "result", "error")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    name: str
    state: _tasks_pb2.TaskState
    result: bytes
    error: str
    def __init__(self, task_id: _Optional[str] = ..., name: _Optional[str] = ..., state: _Optional[_Union[_tasks_pb2.TaskState, str]] = ..., result: _Optional[bytes] = ..., error: _Optional[str] = ...) -> None: ...

class Flow(_message.Message):
    __slots__ = ("id", "kind", "state", "parts", "callback", "done", "total", "result", "error", "created_at_ms", "finished_at_ms", "idempotency_key")
    ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PARTS_FIELD_NUMBER: _ClassVar[int]
    CALLBACK_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    id: str
    kind: FlowKind
    state: FlowState
    parts: _containers.RepeatedCompositeFieldContainer[FlowPart]
    callback: FlowPart
    done: int
    total: int
    result: bytes
    error: str
    created_at_ms: int
    finished_at_ms: int
    idempotency_key: str
    def __init__(self, id: _Optional[str] = ..., kind: _Optional[_Union[FlowKind, str]] = ..., state: _Optional[_Union[FlowState, str]] = ..., parts: _Optional[_Iterable[_Union[FlowPart, _Mapping]]] = ..., callback: _Optional[_Union[FlowPart, _Mapping]] = ..., done: _Optional[int] = ..., total: _Optional[int] = ..., result: _Optional[bytes] = ..., error: _Optional[str] = ..., created_at_ms: _Optional[int] = ..., finished_at_ms: _Optional[int] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class GetFlowRequest(_message.Message):
    __slots__ = ("id", "linearizable")
    ID_FIELD_NUMBER: _ClassVar[int]
    LINEARIZABLE_FIELD_NUMBER: _ClassVar[int]
    id: str
    linearizable: bool
    def __init__(self, id: _Optional[str] = ..., linearizable: bool = ...) -> None: ...

class ListFlowsRequest(_message.Message):
    __slots__ = ("limit", "linearizable")
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    LINEARIZABLE_FIELD_NUMBER: _ClassVar[int]
    limit: int
    linearizable: bool
    def __init__(self, limit: _Optional[int] = ..., linearizable: bool = ...) -> None: ...

class ListFlowsResponse(_message.Message):
    __slots__ = ("flows", "truncated")
    FLOWS_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    flows: _containers.RepeatedCompositeFieldContainer[Flow]
    truncated: bool
    def __init__(self, flows: _Optional[_Iterable[_Union[Flow, _Mapping]]] = ..., truncated: bool = ...) -> None: ...
