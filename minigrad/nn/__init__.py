"""Neural-network modules built from minigrad's primitives, with PyTorch's names and weight layouts."""
from . import functional, utils
from .layers import Dropout, Embedding, Linear, ReLU, Tanh
from .module import Module, Parameter, Sequential
from .recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, PeepholeLSTMCell, RNNCell

__all__ = [
    "Module", "Parameter", "Sequential", "Linear", "Embedding", "Dropout", "ReLU", "Tanh",
    "RNNCell", "LSTMCell", "GRUCell", "PeepholeLSTMCell", "RNN", "LSTM", "GRU", "functional", "utils",
]
