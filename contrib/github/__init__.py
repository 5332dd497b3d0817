"""The GitHub integration: webhook intake, signature check, event handlers."""
