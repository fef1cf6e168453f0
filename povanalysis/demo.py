"""The main job on the synthetic data: prepare the data, then run the notebooks through papermill."""

from __future__ import annotations

from pathlib import Path

from . import config
from .pipeline import DEFAULT_SEED, ensure_demo_data

__all__ = ["run_demo", "run_notebook"]


def run_notebook(name: str, out_dir: Path, *, parameters: dict | None = None) -> Path:
    """Execute ``notebooks/<name>`` with papermill into ``out_dir``; returns the executed notebook."""
    import papermill as pm

    src = config.PROJ_ROOT / "notebooks" / name
    if not src.exists():
        raise FileNotFoundError(f"no notebook {src}")
    out_dir.mkdir(parents=True, exist_ok=True)
    dest = out_dir / name
    pm.execute_notebook(str(src), str(dest), parameters=parameters or {}, progress_bar=False,
                        cwd=str(src.parent), kernel_name="python3")
    return dest


def run_demo(*, seed: int = DEFAULT_SEED, scale: float = 1.0) -> int:
    """Generate (if missing) and process the demo data, run the province notebook; print the outputs."""
    paths = ensure_demo_data(seed=seed, scale=scale)
    out = config.reports_dir()
    executed = run_notebook("01-province-overview.ipynb", out)
    print("Processed tables:")
    for name, path in paths.items():
        print(f"  {name}: {path}")
    print(f"Province overview notebook: {executed}")
    return 0
