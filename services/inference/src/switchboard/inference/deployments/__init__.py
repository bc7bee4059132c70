"""Ray Serve model layer of the inference service.

Modules, one job each:

- ``config``: frozen dataclasses describing the Ray cluster and the chat role.
- ``errors``: the exceptions this layer raises.
- ``protocol``: validation of chat requests and the chunk dicts streamed back.
- ``weights``: where the chat model's GGUF file lives.
- ``engines``: in-process text generators (llama.cpp and echo); no Ray.
- ``placement``: pure checks that a role's resource request fits a cluster.
- ``chat``: the Serve deployment wrapping an engine.
- ``host``: ``ModelHost``, the only class that talks to Ray.

Importing this package (or ``config``/``errors``/``protocol``) does not import
Ray or llama.cpp and connects to nothing.
"""
