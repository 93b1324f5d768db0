"""register_external: a Python function with a low-level implementation and a fake one.

RPython's ``register_external`` (spec: rffi-api.md section 4) tells the translator to
replace a function by ``llimpl`` in translated code and by ``llfakeimpl`` under the
llinterp.  Without a translator, nffi gives the two a process-wide switch: calls of the
returned ``ExternalFunction`` run the "normal" implementation, and the fake one inside
``fakeimpl_mode()``.  Arguments are checked against the annotations at call time.
"""
import contextlib
import functools
import threading

from . import lltype

__all__ = ["register_external", "ExternalFunction", "SignatureError", "fakeimpl_mode",
           "is_fakeimpl_mode", "lookup", "is_external"]


class SignatureError(TypeError):
    """A call of a registered external does not match its declared signature."""


_registry = {}              # original function -> ExternalFunction
_fake = [False]             # the mode is process-wide, as the spec says
_lock = threading.Lock()


def is_fakeimpl_mode():
    """True inside ``fakeimpl_mode()``."""
    return _fake[0]


@contextlib.contextmanager
def fakeimpl_mode(enabled=True):
    """Run registered externals with their fake implementation (nests, restores)."""
    previous = _fake[0]
    _fake[0] = bool(enabled)
    try:
        yield
    finally:
        _fake[0] = previous


def _describe(annotation):
    if isinstance(annotation, list):
        return "a list of %s" % _describe(annotation[0])
    if isinstance(annotation, tuple):
        return "a tuple (%s)" % ", ".join(_describe(a) for a in annotation)
    if annotation is None:
        return "None"
    if isinstance(annotation, lltype.LowLevelType):
        return "a value of low-level type %s" % annotation._short_name()
    if isinstance(annotation, type):
        return "%s %s" % ("an" if annotation.__name__[0] in "aeiou" else "a",
                          annotation.__name__)
    return repr(annotation)


def _matches(annotation, value):
    if annotation is int:
        return isinstance(value, int)
    if annotation is float:
        return isinstance(value, (int, float))
    if annotation is bool:
        return isinstance(value, bool)
    if annotation is str:
        return isinstance(value, str)
    if annotation is bytes:
        return isinstance(value, bytes)
    if annotation is None:
        return value is None
    if isinstance(annotation, list):
        if len(annotation) != 1:
            return True
        return isinstance(value, list) and all(_matches(annotation[0], v) for v in value)
    if isinstance(annotation, tuple):
        return isinstance(value, tuple) and len(value) == len(annotation) and all(
            _matches(a, v) for a, v in zip(annotation, value))
    if isinstance(annotation, lltype.LowLevelType):
        try:
            return lltype.typeOf(value) == annotation
        except (TypeError, OverflowError):
            return False
    if isinstance(annotation, type):
        return isinstance(value, annotation)
    return True          # anything else is not checked


class ExternalFunction:
    """What register_external returns: a checked callable dispatching by mode."""

    def __init__(self, function, args, result, export_name, llimpl, llfakeimpl,
                 sandboxsafe):
        self.function = function
        self.name = export_name or function.__name__
        self.args = args
        self.result = result
        self.llimpl = llimpl
        self.llfakeimpl = llfakeimpl
        self.sandboxsafe = sandboxsafe
        self.__wrapped__ = function
        functools.update_wrapper(self, function, updated=())

    def __repr__(self):
        return "<ExternalFunction %s>" % self.name

    def _check(self, args, kwds):
        if kwds:
            raise SignatureError("%s() takes no keyword arguments (got %s)"
                                 % (self.name, ", ".join(sorted(kwds))))
        if self.args is None:
            return
        if len(args) != len(self.args):
            raise SignatureError("%s() takes %d argument(s), got %d"
                                 % (self.name, len(self.args), len(args)))
        for i, (annotation, value) in enumerate(zip(self.args, args)):
            if not _matches(annotation, value):
                raise SignatureError("%s(): arg %d must be %s, got %r"
                                     % (self.name, i + 1, _describe(annotation), value))

    def __call__(self, *args, **kwds):
        self._check(args, kwds)
        if _fake[0]:
            impl = self.llfakeimpl or self.llimpl or self.function
        else:
            impl = self.llimpl or self.function
        return impl(*args)


def register_external(function, args, result=None, export_name=None, llimpl=None,
                      llfakeimpl=None, sandboxsafe=False):
    """Register ``function`` as an external with annotations ``args``/``result``."""
    if not callable(function):
        raise TypeError("register_external: %r is not callable" % (function,))
    if args is not None and not isinstance(args, (list, tuple)):
        raise TypeError("register_external: args must be a list of annotations")
    with _lock:
        if function in _registry:
            raise ValueError("register_external: %r is already registered" % (function,))
        ext = ExternalFunction(function, None if args is None else list(args), result,
                               export_name, llimpl, llfakeimpl, sandboxsafe)
        _registry[function] = ext
    return ext


def lookup(obj):
    """The ExternalFunction of an original function or of the wrapper itself."""
    if isinstance(obj, ExternalFunction):
        return obj
    return _registry[obj]


def is_external(obj):
    """Whether ``obj`` is registered (or is an ExternalFunction)."""
    return isinstance(obj, ExternalFunction) or obj in _registry
