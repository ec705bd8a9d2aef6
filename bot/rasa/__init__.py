"""Every module that imports Rasa or Sanic: the input channels (channels/), the NLU
component (intent_floor), the tracker store, the Rasa server's launcher (server) with every
change it and the others make to Rasa (patches), and the action server."""
