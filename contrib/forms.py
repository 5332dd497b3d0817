"""Forms of contrib's pages."""

from django import forms

from contrib.docs import MAX_BODY_CHARS


class DocEditForm(forms.Form):
    title = forms.CharField(max_length=200)
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 18}),
        max_length=MAX_BODY_CHARS,
        help_text="Markdown.",
    )
    message = forms.CharField(
        max_length=300, required=False, help_text="What you changed and why (optional)."
    )
