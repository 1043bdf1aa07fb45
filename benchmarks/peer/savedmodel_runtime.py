"""An MLServer runtime for a TensorFlow SavedModel: the least glue MLServer needs.

Runs inside benchmarks/.venv-peer (MLServer + TensorFlow), never in layerlens' venv.
MLServer's adaptive batching (max_batch_size / max_batch_time in model-settings.json)
merges concurrent requests before ``predict`` sees them.
"""

from __future__ import annotations

import tensorflow as tf
from mlserver import MLModel
from mlserver.codecs import NumpyCodec
from mlserver.types import InferenceRequest, InferenceResponse


class SavedModelRuntime(MLModel):
    async def load(self) -> bool:
        self._model = tf.saved_model.load(self.settings.parameters.uri)
        self._predict = self._model.predict
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        x = NumpyCodec.decode_input(payload.inputs[0]).astype("float32")
        outputs = self._predict(tf.constant(x))
        return InferenceResponse(
            model_name=self.name,
            outputs=[
                NumpyCodec.encode_output(name=name, payload=value.numpy())
                for name, value in sorted(outputs.items())
            ],
        )
