from rest_framework.pagination import PageNumberPagination

# Where the schema's example links point (a made-up shop; the real links carry the request's host).
EXAMPLE_ORIGIN = "https://shop.example.com"


class StandardPagination(PageNumberPagination):
    """`?page=N&page_size=N`; page_size defaults to 20 and is capped at 100."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
    page_size_query_description = "Results per page: 20 by default, at most 100 (a larger value gives 100)."

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        bounds = {self.page_query_param: {"minimum": 1}, self.page_size_query_param: {"minimum": 1}}
        bounds[self.page_size_query_param]["maximum"] = self.max_page_size
        for parameter in parameters:
            parameter["schema"].update(bounds.get(parameter["name"], {}))
            parameter["schema"]["example"] = 2 if parameter["name"] == self.page_query_param else self.page_size
        return parameters

    def get_paginated_response_schema(self, schema):
        """Every key is always there (`next`/`previous` null at the ends); the example links are those of
        page 2 of the list being described (novacart.openapi.AutoSchema sets `schema_path`)."""
        base = EXAMPLE_ORIGIN + getattr(self, "schema_path", "/api/")
        paginated = super().get_paginated_response_schema(schema)
        properties = paginated["properties"]
        properties["count"].update(minimum=0, example=42)
        properties["next"]["example"] = f"{base}?{self.page_query_param}=3"
        properties["previous"]["example"] = base
        paginated["required"] = ["count", "next", "previous", "results"]
        return paginated
