"""Warm Jupyter kernels for running one parameterised notebook many times: a papermill engine and a kernel pool."""

from __future__ import annotations

import ast
import logging
import os
import signal
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import Engine, NotebookExecutionManager, papermill_engines
from papermill.exceptions import PapermillExecutionError
from papermill.execute import prepare_notebook_metadata, raise_for_execution_errors, remove_error_markers
from papermill.parameterize import parameterize_notebook

from .redact import relative_name

__all__ = [
    "ENGINE_NAME",
    "WarmKernel",
    "WarmEngine",
    "KernelPool",
    "load_notebook",
    "notebook_parameters",
    "check_parameters",
    "execute",
    "PapermillExecutionError",
]

logger = logging.getLogger("povanalysis.reports.engine")

#: Name under which :class:`WarmEngine` is registered with papermill.
ENGINE_NAME = "povanalysis-warm"

# Run silently between two notebooks: clear the warning registries (so a warning shows in
# every report, as in a fresh kernel), empty the user namespace (what ``%reset -f`` does) and
# start a new history session, which restarts the execution counter at 1.  IPython's reset
# ends with a full garbage collection, which costs half a second once the package's tables
# are cached in the kernel; it is skipped (the interpreter's own collector still runs).
_RESET = """\
def _povanalysis_reset():
    import gc, sys
    for module in list(sys.modules.values()):
        registry = getattr(module, "__warningregistry__", None)
        if isinstance(registry, dict):
            registry.clear()
    collect = gc.collect
    gc.collect = lambda *args, **kwargs: 0
    try:
        get_ipython().reset(new_session=True)
    finally:
        gc.collect = collect
_povanalysis_reset()
"""


class WarmKernel:
    """One long-lived Jupyter kernel that runs notebook after notebook, reset in between.

    Parameters
    ----------
    kernel_name : str
        Kernel spec to start (default ``python3``).
    cwd : path, optional
        Working directory of the kernel (the notebook's folder, as papermill would use).
    env : mapping, optional
        Extra environment variables of the kernel process (e.g. ``POVANALYSIS_DATA_DIR``).
    startup_timeout : float
        Seconds to wait for the kernel to answer.

    Attributes
    ----------
    runs : int
        Notebooks executed since the kernel started.

    Notes
    -----
    A kernel belongs to the thread that started it (its channels live on that thread's
    event loop). Between two notebooks :meth:`reset` clears the user namespace (as
    ``%reset -f``) and restarts the execution counter; modules stay imported, which is what makes the second report fast.
    Module-level state therefore persists: the package keeps only caches keyed by their
    inputs there.
    """

    def __init__(
        self,
        *,
        kernel_name: str = "python3",
        cwd: str | os.PathLike | None = None,
        env: Mapping[str, str] | None = None,
        startup_timeout: float = 60,
    ):
        self.kernel_name = kernel_name
        self.cwd = str(cwd) if cwd is not None else None
        self.env = dict(env or {})
        self.startup_timeout = startup_timeout
        self.km: AsyncKernelManager | None = None
        self.kc = None
        self.runs = 0
        self._lock = threading.RLock()  # start and shutdown never interleave (shutdown may come from another thread)

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> WarmKernel:
        """Start the kernel process and its client; returns ``self``."""
        with self._lock:
            if self.km is not None:
                return self
            km = AsyncKernelManager(kernel_name=self.kernel_name)
            self.km = km
            try:
                # history in memory, as nbclient does: parallel kernels never contend for the SQLite file
                run_sync(km.start_kernel)(
                    cwd=self.cwd,
                    env={**os.environ, **self.env},
                    extra_arguments=["--HistoryManager.hist_file=:memory:"],
                )
                kc = km.client()
                kc.start_channels()
                self.kc = kc
                run_sync(kc.wait_for_ready)(timeout=self.startup_timeout)
            except BaseException:
                self.shutdown()
                raise
            kc.allow_stdin = False
            _LIVE.add(self)
            return self

    @property
    def pid(self) -> int | None:
        """Process id of the kernel, or None when it is not running."""
        if self.km is None or self.km.provisioner is None:
            return None
        return getattr(self.km.provisioner, "pid", None)

    @property
    def alive(self) -> bool:
        """Whether the kernel process is running."""
        return self.km is not None and bool(run_sync(self.km.is_alive)())

    def reset(self) -> None:
        """Clear the user namespace and the execution counter (modules stay imported)."""
        if self.kc is None:
            raise RuntimeError("the kernel is not started")
        reply = run_sync(self.kc.execute_interactive)(
            _RESET, silent=True, store_history=False, timeout=self.startup_timeout
        )
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"resetting the kernel failed: {reply['content'].get('evalue')}")

    def shutdown(self) -> None:
        """Stop the kernel process (immediately) and close the channels; safe to call twice, from any thread."""
        with self._lock:
            km, kc = self.km, self.kc
            self.km = self.kc = None
            _LIVE.discard(self)
            if kc is not None:
                try:
                    kc.stop_channels()
                except Exception:  # channels of a dead kernel may already be closed
                    pass
            if km is not None:
                try:
                    run_sync(km.shutdown_kernel)(now=True)
                except Exception:
                    _kill(km)
                finally:
                    try:
                        run_sync(km.cleanup_resources)()
                    except Exception:
                        pass

    def __enter__(self) -> WarmKernel:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.shutdown()

    # ---------------------------------------------------------------- running

    def run(self, nb_man: NotebookExecutionManager, *, execution_timeout: float | None = None) -> None:
        """Execute the cells of papermill's managed notebook ``nb_man`` in this kernel."""
        if self.kc is None:
            self.start()
        elif not self.alive:
            self.shutdown()
            self.start()
        elif self.runs:
            self.reset()
        client = PapermillNotebookClient(
            nb_man,
            km=self.km,
            kernel_name=self.kernel_name,
            log=logger,
            timeout=execution_timeout,
            startup_timeout=self.startup_timeout,
        )
        client.kc = self.kc
        self.runs += 1
        client.execute()


def _kill(km) -> None:
    """Kill a kernel process that did not shut down, by its manager or, failing that, by its pid."""
    pid = getattr(getattr(km, "provisioner", None), "pid", None)
    try:
        run_sync(km.kill_kernel)()
        return
    except Exception:
        pass
    if pid:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


_LIVE: set[WarmKernel] = set()


def shutdown_all() -> int:
    """Shut down every warm kernel of this process; returns how many were running."""
    live = list(_LIVE)
    for kernel in live:
        kernel.shutdown()
    return len(live)


class WarmEngine(Engine):
    """A papermill engine that runs the notebook in a :class:`WarmKernel` passed as ``kernel=``.

    Registered with papermill as :data:`ENGINE_NAME`, so
    ``papermill.execute_notebook(..., engine_name="povanalysis-warm", kernel=k)`` runs in the
    warm kernel ``k`` instead of starting one.
    """

    @classmethod
    def execute_managed_notebook(
        cls,
        nb_man: NotebookExecutionManager,
        kernel_name: str,
        *,
        kernel: WarmKernel | None = None,
        execution_timeout: float | None = None,
        **kwargs: Any,
    ) -> nbformat.NotebookNode:
        if kernel is None:
            raise ValueError(f"the {ENGINE_NAME!r} engine needs a warm kernel: pass kernel=WarmKernel(...)")
        kernel.run(nb_man, execution_timeout=execution_timeout)
        return nb_man.nb


papermill_engines.register(ENGINE_NAME, WarmEngine)


def load_notebook(notebook: nbformat.NotebookNode | str | os.PathLike) -> nbformat.NotebookNode:
    """A notebook (path or node, which is copied) upgraded to v4 with papermill's per-cell metadata."""
    if isinstance(notebook, (str, os.PathLike)):
        nb = nbformat.read(str(notebook), as_version=4)
    else:
        nb = nbformat.from_dict(notebook)
    nb = nbformat.v4.upgrade(nb)
    nb.metadata.setdefault("papermill", {})
    for cell in nb.cells:
        cell.metadata.setdefault("tags", [])
        cell.metadata.setdefault("papermill", {})
    return nb


def notebook_parameters(notebook: nbformat.NotebookNode) -> dict:
    """The parameters declared in a notebook's ``parameters`` cell: name → (type name, default, help).

    Read from the cell's source as papermill documents it (``name: type = default  # help``):
    the type is the annotation's, else that of the default literal (``NoneType`` for ``None``,
    ``None`` when the default is not a literal); the default is its source text.

    Examples
    --------
    >>> nb = nbformat.v4.new_notebook(metadata={"kernelspec": {
    ...     "name": "python3", "display_name": "Python 3", "language": "python"}})
    >>> cell = nbformat.v4.new_code_cell('lang = "vi"  # report language')
    >>> cell.metadata["tags"] = ["parameters"]
    >>> nb.cells.append(cell)
    >>> notebook_parameters(nb)
    {'lang': ('str', '"vi"', 'report language')}
    """
    nb = load_notebook(notebook)
    cell = next((c for c in nb.cells if "parameters" in c.metadata.get("tags", [])), None)
    if cell is None:
        return {}
    source = cell.source
    lines = source.splitlines()
    out = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name, annotation = node.targets[0].id, None
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            name, annotation = node.target.id, ast.unparse(node.annotation)
        else:
            continue
        default = ast.get_source_segment(source, node.value)
        rest = lines[node.end_lineno - 1][node.end_col_offset :].strip()
        help_text = rest[1:].strip() if rest.startswith("#") else ""
        if annotation is None:  # no annotation: the type of the default literal
            try:
                annotation = type(ast.literal_eval(default)).__name__
            except (ValueError, SyntaxError):
                annotation = "None"
        out[name] = (annotation, default, help_text)
    return out


_TYPES = {"str": (str,), "int": (int,), "float": (int, float), "bool": (bool,)}


def check_parameters(notebook: nbformat.NotebookNode, parameters: Mapping[str, object]) -> None:
    """Raise ``ValueError`` for a parameter the notebook does not declare or of the wrong type.

    Examples
    --------
    >>> nb = nbformat.v4.new_notebook(metadata={"kernelspec": {
    ...     "name": "python3", "display_name": "Python 3", "language": "python"}})
    >>> cell = nbformat.v4.new_code_cell("review_year = 2024  # review shown")
    >>> cell.metadata["tags"] = ["parameters"]
    >>> nb.cells.append(cell)
    >>> check_parameters(nb, {"year": 2024})
    Traceback (most recent call last):
    ...
    ValueError: unknown notebook parameter 'year' (the notebook declares: review_year)
    """
    declared = notebook_parameters(notebook)
    for name, value in parameters.items():
        if name not in declared:
            raise ValueError(f"unknown notebook parameter {name!r} (the notebook declares: {', '.join(declared)})")
        kind = declared[name][0]
        allowed = _TYPES.get(kind)
        if allowed and (not isinstance(value, allowed) or (kind != "bool" and isinstance(value, bool))):
            raise ValueError(f"notebook parameter {name!r} must be of type {kind}, got {value!r}")


def execute(
    kernel: WarmKernel,
    notebook: nbformat.NotebookNode | str | os.PathLike,
    parameters: Mapping[str, object] | None = None,
    *,
    execution_timeout: float | None = None,
) -> nbformat.NotebookNode:
    """Parameterise a notebook as papermill does and execute it in a warm kernel.

    The same steps as :func:`papermill.execute_notebook` (checked parameters injected in a
    cell tagged ``injected-parameters`` after the ``parameters`` cell, papermill metadata,
    per-cell timings), through :class:`WarmEngine`, without changing the process's working
    directory (so several threads can run notebooks at once) and without writing files.

    Raises
    ------
    ValueError
        Unknown parameter or wrong type.
    papermill.exceptions.PapermillExecutionError
        A cell raised; the executed notebook (with papermill's error markers) is attached
        as the exception's ``nb`` attribute.
    """
    path = str(notebook) if isinstance(notebook, (str, os.PathLike)) else None
    notebook = load_notebook(notebook)
    params = dict(parameters or {})
    check_parameters(notebook, params)
    nb = parameterize_notebook(notebook, params, kernel_name=kernel.kernel_name, engine_name=ENGINE_NAME)
    for cell in nb.cells:
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell["id"] = "injected-parameters"
    # the template's path as published: relative to the project, never the machine's folders
    nb = prepare_notebook_metadata(nb, relative_name(path) if path else None, None)
    nb = remove_error_markers(nb)
    nb = papermill_engines.execute_notebook_with_engine(
        ENGINE_NAME,
        nb,
        kernel_name=kernel.kernel_name,
        output_path=None,
        progress_bar=False,
        log_output=False,
        kernel=kernel,
        execution_timeout=execution_timeout,
    )
    try:
        raise_for_execution_errors(nb, None)
    except PapermillExecutionError as exc:
        exc.nb = nb
        raise
    return nb


class KernelPool:
    """Warm kernels, one per thread that asks, all shut down together.

    ``pool.kernel()`` returns the calling thread's kernel, starting it on first use; a
    worker thread (of a thread pool, or of a Dask worker) therefore keeps its kernel warm
    from one report to the next.  :meth:`shutdown` stops them all (also on Ctrl-C, from
    the runner's ``finally``).

    Parameters
    ----------
    cwd, env, kernel_name
        As for :class:`WarmKernel`.
    """

    def __init__(
        self,
        *,
        kernel_name: str = "python3",
        cwd: str | os.PathLike | None = None,
        env: Mapping[str, str] | None = None,
    ):
        self.kernel_name = kernel_name
        self.cwd = Path(cwd) if cwd is not None else None
        self.env = dict(env or {})
        self._local = threading.local()
        self._kernels: list[WarmKernel] = []
        self._lock = threading.Lock()
        self.closed = False

    def kernel(self) -> WarmKernel:
        """The calling thread's warm kernel (started on first use)."""
        if self.closed:
            raise RuntimeError("the kernel pool is shut down")
        kernel = getattr(self._local, "kernel", None)
        if kernel is None:
            kernel = WarmKernel(kernel_name=self.kernel_name, cwd=self.cwd, env=self.env)
            with self._lock:
                self._kernels.append(kernel)
            kernel.start()
            if self.closed:  # shut down while this kernel was starting: do not leave it running
                kernel.shutdown()
                raise RuntimeError("the kernel pool is shut down")
            self._local.kernel = kernel
        return kernel

    @property
    def pids(self) -> list[int]:
        """Process ids of the running kernels."""
        return [k.pid for k in self._kernels if k.pid is not None]

    def shutdown(self) -> None:
        """Stop every kernel of the pool."""
        self.closed = True
        with self._lock:
            kernels, self._kernels = self._kernels, []
        for kernel in kernels:
            kernel.shutdown()

    def __enter__(self) -> KernelPool:
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()
