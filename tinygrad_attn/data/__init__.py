"""Host-side data: tasks, vocabularies, generators, text files, and the NTM's binary-vector tasks.

Every kind of data implements one interface, :class:`Task` (:mod:`.task`): text with a
vocabulary (:class:`TextTask`) and binary vectors (:class:`BitsTask`); named sources
(``"date"``, ``"copy"``, a file path) are looked up with :func:`load_data`.

Only NumPy is needed; nothing here touches the autograd engine.
"""

from .addition import ADDITION_ALPHABET, addition_widths, make_addition
from .bits import (BIT_TASKS, BitsData, BitsTask, bit_errors, load_bits_dataset, make_copy,
                   make_repeat_copy)
from .dataset import (GENERATED_TASKS, DateTask, Seq2seqData, TextTask, decode_answers,
                      encode_questions, greedy_decode, load_dataset)
from .task import (DataSource, Task, TaskData, TaskError, data_source, data_sources, load_data,
                   register_data_source, register_task_kind, task_from_description, task_kinds)
from .dates import (
    ALL_DATE_FORMATS,
    BOOK_SHARE,
    DATE_ALPHABET,
    DATE_ANSWER_LEN,
    DATE_FORMATS,
    DEFAULT_END_DATE,
    MAX_DATE_QUESTION_LEN,
    MAX_TYPED_DATE_QUESTION_LEN,
    TYPED_DATE_ALPHABET,
    TYPED_DATE_FORMATS,
    TYPED_DATE_RANGE,
    check_date_answer,
    format_date,
    make_dates,
    parse_two_digit_year,
)
from .textfile import load_text, save_text
from .vocab import PAD_CHAR, START_CHAR, Vocabulary

__all__ = [
    "Task", "TaskData", "DateTask", "TaskError", "TextTask", "BitsTask", "DataSource", "data_source",
    "data_sources", "load_data", "register_data_source", "register_task_kind",
    "task_from_description", "task_kinds",
    "ADDITION_ALPHABET",
    "ALL_DATE_FORMATS",
    "BOOK_SHARE",
    "GENERATED_TASKS",
    "MAX_TYPED_DATE_QUESTION_LEN",
    "TYPED_DATE_ALPHABET",
    "TYPED_DATE_FORMATS",
    "TYPED_DATE_RANGE",
    "check_date_answer",
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
    "greedy_decode",
    "encode_questions",
    "format_date",
    "load_dataset",
    "load_text",
    "make_addition",
    "make_dates",
    "parse_two_digit_year",
    "save_text",
]
