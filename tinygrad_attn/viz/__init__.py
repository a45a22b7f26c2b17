"""Pictures of what the framework computes: the graph, attention weights, training curves.

* :func:`to_dot` / :func:`plot_graph`: the computational graph behind a Variable (Graphviz).
* :func:`plot_attention`, :func:`plot_attention_grid`, :func:`attention_to_text`: attention
  heatmaps (matplotlib, ``show_padding=True`` to draw the padding columns too) and a
  terminal rendering; :func:`padding_share`: how much attention each row spends on padding.
* :func:`plot_history`, :func:`plot_histories`: loss and validation-accuracy curves.
* :func:`plot_grad_flow`: gradient norms per parameter (from ``ta.gradflow.grad_flow``).
* :func:`plot_memory`, :func:`plot_bit_error_curves`: a Neural Turing Machine's write and
  read weightings over time beside its input/target/output bits; bit errors during training.
* :func:`explore`: an interactive attention explorer, one self-contained HTML file (no
  network, no library; shown inline in Jupyter) for attention seq2seq, Transformer and NTM
  models, or two models side by side.

Graphviz and matplotlib are optional (``pip install "tinygrad-attn[viz]"``) and are
imported only when a picture is drawn; :func:`to_dot` and :func:`attention_to_text` need
neither.
"""
from .attention import PAD_LABEL, attention_to_text, padding_share, plot_attention, plot_attention_grid
from .curves import plot_histories, plot_history
from .explore import Explorer, decode_array, explore
from .graph import GraphvizNotFoundError, plot_graph, to_dot
from .gradflow import plot_grad_flow
from .memory import plot_bit_error_curves, plot_memory

__all__ = [
    "to_dot", "plot_graph", "GraphvizNotFoundError", "plot_attention", "plot_attention_grid",
    "attention_to_text", "padding_share", "PAD_LABEL", "plot_history", "plot_histories",
    "plot_memory", "plot_bit_error_curves", "plot_grad_flow", "explore", "Explorer", "decode_array",
]
