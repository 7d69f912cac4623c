"""A tiny MLflow pyfunc model, importable by the test that loads it back."""

from __future__ import annotations

from typing import Any

import mlflow.pyfunc


class AddN(mlflow.pyfunc.PythonModel):  # type: ignore[misc]
    """Adds ``n`` to every value."""

    def __init__(self, n: int) -> None:
        self.n = n

    def predict(self, context: Any, model_input: Any, params: Any = None) -> Any:
        return model_input + self.n
