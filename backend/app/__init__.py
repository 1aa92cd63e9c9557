"""The mobile mini-app's web pages (/app/): Vue 3 + Vant 4 served by the backend, no build step."""
