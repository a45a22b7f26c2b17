"""Layers (conventionally imported as ``L``): compositions of engine ops, no hand-written backward."""
from . import init
from .attention import ATTENTION_SCORES, Attention, TimeAttention
from .base import Layer, LayerList
from .basic import Dropout, Embedding, Linear
from .ntm import NTM, NTMState
from .recurrent import GRU, LSTM, Bidirectional, GRUCell, LSTMCell, StackedLSTM, lstm_update
from .transformer import (LayerNorm, MultiHeadAttention, PositionalEncoding,
                          PositionwiseFeedForward, TransformerDecoderBlock,
                          TransformerEncoderBlock, sinusoidal_positions)

__all__ = ["Layer", "LayerList", "Linear", "Embedding", "Dropout", "LSTMCell", "LSTM", "GRUCell",
           "GRU", "Bidirectional", "StackedLSTM", "Attention", "TimeAttention", "ATTENTION_SCORES", "lstm_update",
           "init", "LayerNorm", "MultiHeadAttention", "PositionwiseFeedForward", "PositionalEncoding",
           "TransformerEncoderBlock", "TransformerDecoderBlock", "sinusoidal_positions",
           "NTM", "NTMState"]
