"""The API's request and response bodies, one module per area, named as FastAPI's full-stack template names them:
`XBase` holds the fields a model's shapes share, `XIn` is what a client sends, `XOut` what it gets back (the class
names are the OpenAPI component names clients see, so they stay). Money goes out as a decimal string, never a
float; times are UTC."""
