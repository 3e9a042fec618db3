"""PyTorch adapter: explain any ``torch.nn.Module`` with Grad-CAM.

Importing this package imports torch; :mod:`eli5_gradcam` imports it lazily
the first time a PyTorch model is given to :func:`eli5.explain_prediction`.

Modules: :mod:`.explain` (the public function), :mod:`.capture` (one forward
pass and the gradients, as a :class:`~eli5_gradcam.nn.capture.LayerCapture`),
:mod:`.layers` (which layer), :mod:`.layout` (where the channels are),
:mod:`.gradients` (several targets from one pass), :mod:`.inputs` (the doc),
:mod:`.state` (leaving the model as it was).
"""
from .capture import capture_layer
from .explain import PYTORCH, capture_batch, explain_batch_pytorch, explain_prediction_pytorch

__all__ = ['explain_prediction_pytorch', 'explain_batch_pytorch', 'capture_batch',
           'capture_layer', 'PYTORCH']
