"""The submit page's form, built from the benchmark's engine spec (keys, defaults, ranges)."""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from evaluation.models import Benchmark
from evaluation.selectors import benchmark_spec


class ConfigSubmissionForm(forms.Form):
    """A title plus one field per config key of the benchmark's spec. Only values that differ
    from the spec's default are submitted (an empty field is the default), so the config says
    what the change is."""

    title = forms.CharField(
        max_length=300,
        required=False,
        help_text="What you changed, in a few words (shown on the leaderboard).",
    )

    def __init__(self, *args: Any, benchmark: Benchmark, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.benchmark = benchmark
        self.spec_fields = benchmark_spec(benchmark).config_fields
        for key, spec_field in self.spec_fields.items():
            described = spec_field.describe()
            bounds = f"{described['minimum']} to {described['maximum']}"
            options = {
                "label": key,
                "initial": spec_field.default,
                "required": False,  # left empty: the default
                "help_text": f"{spec_field.help}; default {spec_field.default}, range {bounds}",
                "min_value": spec_field.minimum,
                "max_value": spec_field.maximum,
            }
            if spec_field.kind is int:
                self.fields[key] = forms.IntegerField(**options)
            else:
                self.fields[key] = forms.FloatField(**options)
                self.fields[key].widget.attrs["step"] = "any"

    def config(self) -> dict[str, Any]:
        return {
            key: self.cleaned_data[key]
            for key, spec_field in self.spec_fields.items()
            if self.cleaned_data.get(key) is not None
            and self.cleaned_data[key] != spec_field.default
        }

    def add_service_errors(self, error: ValidationError) -> None:
        """Put the service's errors (`config.lr`, `benchmark`, …) next to their fields."""
        for name, messages in error.message_dict.items():
            key = name.removeprefix("config.")
            self.add_error(key if key in self.fields else None, messages)


class UploadSubmissionForm(forms.Form):
    """A submission folder as one archive: the same rules as a pull request's folder."""

    title = forms.CharField(
        label="Summary",  # not "Title": the config form's field, on the same page
        max_length=300,
        required=False,
        help_text="What you changed, in a few words (shown on the leaderboard).",
    )
    archive = forms.FileField(
        label="Folder (.zip or .tar.gz)",
        help_text="model.py, config.json (optional: the defaults without it), optimizer.py and "
        "helper modules; at most 4 MiB and 64 files. It runs once a maintainer approves it.",
    )

    def add_service_errors(self, error: ValidationError) -> None:
        """The service's errors next to the file (the archive's, and its config's)."""
        for name, messages in error.message_dict.items():
            self.add_error("archive" if name != "benchmark" else None, messages)
