"""Host-side data: vocabularies, generators, text files, and the binary-vector tasks of the NTM.

Only NumPy is needed; nothing here touches the autograd engine.
"""

from .addition import ADDITION_ALPHABET, addition_widths, make_addition
from .bits import BIT_TASKS, BitsData, bit_errors, load_bits_dataset, make_copy, make_repeat_copy
from .dataset import Seq2seqData, decode_answers, encode_questions, load_dataset
from .dates import (
    DATE_ALPHABET,
    DATE_ANSWER_LEN,
    DATE_FORMATS,
    DEFAULT_END_DATE,
    MAX_DATE_QUESTION_LEN,
    format_date,
    make_dates,
    parse_two_digit_year,
)
from .textfile import load_text, save_text
from .vocab import PAD_CHAR, START_CHAR, Vocabulary

__all__ = [
    "ADDITION_ALPHABET",
    "BIT_TASKS",
    "BitsData",
    "bit_errors",
    "load_bits_dataset",
    "make_copy",
    "make_repeat_copy",
    "DATE_ALPHABET",
    "DATE_ANSWER_LEN",
    "DATE_FORMATS",
    "DEFAULT_END_DATE",
    "MAX_DATE_QUESTION_LEN",
    "PAD_CHAR",
    "START_CHAR",
    "Seq2seqData",
    "Vocabulary",
    "addition_widths",
    "decode_answers",
    "encode_questions",
    "format_date",
    "load_dataset",
    "load_text",
    "make_addition",
    "make_dates",
    "parse_two_digit_year",
    "save_text",
]
