"""The package's public names: `__all__` pinned, every name importable, every error of the tree exported."""

import inspect

import mcp_bigcommerce_segments as package
from mcp_bigcommerce_segments import errors

PUBLIC = {
    "BigCommerceClient",
    "Settings",
    "__version__",
    "build_server",
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuditLogError",
    "AuthenticationError",
    "BadRequestError",
    "BigCommerceError",
    "ConfigError",
    "ConflictError",
    "ConnectFailedError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "PreviewError",
    "RateLimitError",
    "RateLimitWaitTooLong",
    "ResponseShapeError",
    "ServerError",
    "UnprocessableEntityError",
}


def test_all_is_the_pinned_public_surface() -> None:
    """`__all__` names exactly the public surface; a rename or a dropped export fails here first."""
    assert set(package.__all__) == PUBLIC
    assert len(package.__all__) == len(PUBLIC)


def test_every_public_name_resolves_to_its_object() -> None:
    """Each exported name imports lazily to the object its module defines."""
    for name in package.__all__:
        assert getattr(package, name) is not None, name
    assert package.BigCommerceClient.__module__ == "mcp_bigcommerce_segments.client"
    assert package.build_server.__module__ == "mcp_bigcommerce_segments.server"


def test_every_error_of_the_tree_is_exported() -> None:
    """Every exception the package raises on purpose derives from BigCommerceError and is importable from the top."""
    tree = {
        name
        for name, obj in inspect.getmembers(errors, inspect.isclass)
        if issubclass(obj, errors.BigCommerceError) and obj.__module__ == errors.__name__
    }
    assert tree <= set(package.__all__)
    assert all(getattr(package, name) is getattr(errors, name) for name in tree)
