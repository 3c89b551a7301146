"""``equirec serve``: a saved run's recommendations over HTTP (FastAPI, the ``serve`` extra).

:func:`create_app` builds the application from a run folder: the run is opened once (its config,
``model/settings.json`` and ``model/weights.safetensors``; nothing is unpickled or executed) and
every ``POST /recommend`` scores through :func:`equirec.workflows.recommend.recommend`, the code
path of ``equirec recommend``. :func:`serve` runs it with uvicorn. Importing this package imports
neither FastAPI nor torch; a missing extra is named (``pip install 'equirec[serve]'``) when the
application is built.
"""

from equirec._lazy import lazy_exports

__all__ = ["create_app", "serve"]

__getattr__ = lazy_exports(
    __name__, {"create_app": "equirec.serve.app", "serve": "equirec.serve.server"}
)
