"""An app with no tasks: the worker refuses to start on it."""

from qraft import Qraft

app = Qraft("empty")
not_an_app = 42
