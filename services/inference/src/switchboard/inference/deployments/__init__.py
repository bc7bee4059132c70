"""Ray Serve model layer of the inference service.

Modules, one job each:

- ``config``: frozen dataclasses describing the Ray cluster and the chat and vision roles.
- ``errors``: the exceptions this layer raises.
- ``protocol``: validation of chat requests and the chunk dicts streamed back.
- ``weights``: where the models' files live (the chat GGUF, the vision ``.pth``).
- ``engines``: in-process text generators (llama.cpp and echo); no Ray.
- ``efficientnet``: the EfficientNet-Lite0 network in PyTorch.
- ``pixels``: an image file to the classifier's 224x224 input (Pillow); no PyTorch.
- ``classifier``: the in-process image classifier (network, weights, labels in ``data/``); no Ray.
- ``placement``: pure checks that a role's resource request fits a cluster.
- ``chat``: the Serve deployment wrapping an engine.
- ``vision``: the Serve deployment wrapping a classifier.
- ``host``: ``ModelHost``, the only class that talks to Ray.

Importing this package (or ``config``/``errors``/``protocol``/``pixels``) does
not import Ray, llama.cpp or PyTorch and connects to nothing.
"""
