module example.com/ilp-auth-gallery/go

go 1.25.0

require github.com/questdb/go-questdb-client/v4 v4.1.0
