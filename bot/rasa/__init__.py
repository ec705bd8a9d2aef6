"""Every module that imports Rasa or Sanic: channels, NLU component, tracker store,
server patches and the action server."""
