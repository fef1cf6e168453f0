"""The Jupyter set-up of the notebooks: a kernel whose traffic is encrypted, and HTML exports that ask no CDN.

``python -m povanalysis.jupyter_env`` (run by ``make setup``) installs into the running
environment (``sys.prefix``):

- the kernel ``python3`` ("Python 3 (povanalysis)"), started by :class:`EncryptedProvisioner`.
  ipykernel warns "Kernel is running over TCP without encryption" on every kernel a client
  such as papermill, nbval or the batch starts, because jupyter_client gives kernels no
  CurveZMQ keys unless told to (``KernelManager.transport_encryption``), and papermill reads
  no Jupyter configuration to be told.  The provisioner, named by the kernel spec, tells
  every manager: the kernel's sockets are encrypted and the warning has no cause;
- ``etc/jupyter/jupyter_config.json`` settings (:data:`EXPORT_SETTINGS`, merged into what the
  file holds) with which ``jupyter nbconvert --to html`` and JupyterLab's HTML export draw
  the plotly figures with plotly.js embedded in the page
  (:class:`povanalysis.figures.offline.PlotlyHtmlPreprocessor`) and ask no CDN for
  require.js or MathJax: the figures need neither, and offline those requests only fail.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from jupyter_client.provisioning import LocalProvisioner

__all__ = [
    "KERNEL_NAME",
    "DISPLAY_NAME",
    "PROVISIONER_NAME",
    "EXPORT_SETTINGS",
    "EncryptedProvisioner",
    "install_kernel",
    "install_export_settings",
    "main",
]

#: Name of the kernel spec: the default kernel of the notebooks and of papermill.
KERNEL_NAME = "python3"
#: How JupyterLab names the kernel.
DISPLAY_NAME = "Python 3 (povanalysis)"
#: Entry point of :class:`EncryptedProvisioner` (group ``jupyter_client.kernel_provisioners``).
PROVISIONER_NAME = "povanalysis-encrypted"
#: Jupyter settings of HTML exports: the plotly figures drawn offline, and no require.js or MathJax
#: (both asked of a CDN by default).
EXPORT_SETTINGS: dict[str, dict] = {
    "HTMLExporter": {
        "preprocessors": ["povanalysis.figures.offline.PlotlyHtmlPreprocessor"],
        "require_js_url": "",
        "mathjax_url": "",
    }
}


def _explicit(manager, name: str) -> bool:
    """Whether a setting of the manager was configured (for its class or one of its bases)."""
    config = getattr(manager, "config", None) or {}
    return any(cls.__name__ in config and name in config[cls.__name__] for cls in type(manager).__mro__)


class EncryptedProvisioner(LocalProvisioner):
    """A local kernel whose ZeroMQ sockets are encrypted with keys its manager provisions.

    Asks the manager for transport encryption (``transport_encryption="auto"``), which
    jupyter_client then applies since the kernel spec declares ``curve`` support; a policy
    configured on the manager, or a jupyter_client or libzmq without CurveZMQ, is left as it
    is (the kernel then runs as before).
    """

    async def pre_launch(self, **kwargs):
        manager = self.parent
        if (
            manager is not None
            and getattr(manager, "transport_encryption", None) == "disabled"
            and "transport_encryption" not in kwargs
            and not _explicit(manager, "transport_encryption")
        ):
            import zmq

            if zmq.has("curve"):
                manager.transport_encryption = "auto"
        return await super().pre_launch(**kwargs)


def install_kernel(prefix: str | Path | None = None) -> Path:
    """Install the kernel spec :data:`KERNEL_NAME` into ``prefix`` (default ``sys.prefix``), started by the provisioner.

    Returns
    -------
    Path
        The kernel spec's folder.
    """
    from ipykernel.kernelspec import install

    folder = Path(install(kernel_name=KERNEL_NAME, display_name=DISPLAY_NAME, prefix=str(prefix or sys.prefix)))
    spec_file = folder / "kernel.json"
    spec = json.loads(spec_file.read_text(encoding="utf-8"))
    spec.setdefault("metadata", {})
    spec["metadata"]["kernel_provisioner"] = {"provisioner_name": PROVISIONER_NAME, "config": {}}
    supported = set(spec["metadata"].get("supported_encryption") or []) | {"curve"}
    spec["metadata"]["supported_encryption"] = sorted(supported)
    spec_file.write_text(json.dumps(spec, indent=1) + "\n", encoding="utf-8")
    return folder


def install_export_settings(prefix: str | Path | None = None) -> Path:
    """Merge :data:`EXPORT_SETTINGS` into ``<prefix>/etc/jupyter/jupyter_config.json``, keeping its other settings.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = Path(tmp, "etc", "jupyter", "jupyter_config.json")
    ...     path.parent.mkdir(parents=True)
    ...     _ = path.write_text('{"HTMLExporter": {"theme": "dark", "preprocessors": ["mine.P"]}, "Other": {"x": 1}}')
    ...     settings = json.loads(install_export_settings(tmp).read_text())
    ...     again = json.loads(install_export_settings(tmp).read_text())
    >>> settings == again, settings["Other"], settings["HTMLExporter"]["theme"]
    (True, {'x': 1}, 'dark')
    >>> settings["HTMLExporter"]["preprocessors"]
    ['mine.P', 'povanalysis.figures.offline.PlotlyHtmlPreprocessor']
    """
    path = Path(prefix or sys.prefix) / "etc" / "jupyter" / "jupyter_config.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    settings = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    if not isinstance(settings, dict):
        raise ValueError(f"{path} must hold a JSON object of Jupyter settings, got {type(settings).__name__}")
    for section, values in EXPORT_SETTINGS.items():
        held = settings.setdefault(section, {})
        for key, value in values.items():
            if isinstance(value, list) and isinstance(held.get(key), list):  # keep the preprocessors held
                value = held[key] + [v for v in value if v not in held[key]]
            held[key] = value
    path.write_text(json.dumps(settings, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    """Install the kernel and the export settings into an environment (``python -m povanalysis.jupyter_env``)."""
    parser = argparse.ArgumentParser(prog="python -m povanalysis.jupyter_env", description=__doc__.splitlines()[0])
    parser.add_argument("--prefix", default=sys.prefix, help="environment to install into (default: the running one)")
    args = parser.parse_args(argv)
    print(f"kernel {KERNEL_NAME!r}: {install_kernel(args.prefix)}")
    print(f"export settings: {install_export_settings(args.prefix)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
