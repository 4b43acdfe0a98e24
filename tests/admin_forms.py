"""The forms an admin page renders, read and sent back as a browser would: a test then posts exactly
what the page carries (its hidden fields, the boxes it checked), with what a person would type in."""

from html.parser import HTMLParser


class _FormReader(HTMLParser):
    """The forms of a page by id: method, the values they send, and every field name they hold."""

    def __init__(self):
        super().__init__()
        self.forms: dict[str, dict] = {}
        self._form = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._form = {"method": (attrs.get("method") or "get").lower(), "values": {}, "names": set()}
            self.forms[attrs.get("id", "")] = self._form
        elif tag == "input" and self._form is not None and attrs.get("name"):
            kind = attrs.get("type", "text")
            if kind == "submit":
                return
            self._form["names"].add(attrs["name"])
            if kind != "checkbox" or "checked" in attrs:
                self._form["values"][attrs["name"]] = attrs.get("value") or ("on" if kind == "checkbox" else "")

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None


def form_of(response, form_id: str) -> dict:
    reader = _FormReader()
    reader.feed(response.content.decode())
    assert form_id in reader.forms, f"no form {form_id!r} on the page"
    return reader.forms[form_id]


def submit(client, response, form_id: str, *, follow: bool = False, **changes):
    """Sends the form `form_id` of the page `response` as a browser would, with `changes` typed in
    (a value, "on" to tick a box, None to untick it); each change must name a field of the form."""
    form = form_of(response, form_id)
    values = dict(form["values"])
    for name, value in changes.items():
        assert name in form["names"], f"{form_id} has no field {name!r}"
        if value is None:
            values.pop(name, None)
        else:
            values[name] = str(value)
    send = client.post if form["method"] == "post" else client.get
    return send(response.wsgi_request.path, values, follow=follow)
