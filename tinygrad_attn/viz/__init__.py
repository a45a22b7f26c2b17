"""Pictures of what the framework computes: the graph, attention weights, training curves.

* :func:`to_dot` / :func:`plot_graph`: the computational graph behind a Variable (Graphviz).
* :func:`plot_attention`, :func:`plot_attention_grid`, :func:`attention_to_text`: attention
  heatmaps (matplotlib) and a terminal rendering.
* :func:`plot_history`, :func:`plot_histories`: loss and validation-accuracy curves.

Graphviz and matplotlib are optional (``pip install "tinygrad-attn[viz]"``) and are
imported only when a picture is drawn; :func:`to_dot` and :func:`attention_to_text` need
neither.
"""
from .attention import attention_to_text, plot_attention, plot_attention_grid
from .curves import plot_histories, plot_history
from .graph import GraphvizNotFoundError, plot_graph, to_dot

__all__ = [
    "to_dot", "plot_graph", "GraphvizNotFoundError", "plot_attention", "plot_attention_grid",
    "attention_to_text", "plot_history", "plot_histories",
]
