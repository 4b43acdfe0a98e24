from rest_framework.pagination import PageNumberPagination


class StandardPagination(PageNumberPagination):
    """`?page=N&page_size=N`; page_size defaults to 20 and is capped at 100."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
