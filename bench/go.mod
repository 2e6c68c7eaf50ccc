module github.com/sundialhq/sundial/bench

go 1.26

replace github.com/sundialhq/sundial => ../

require (
	github.com/robfig/cron/v3 v3.0.1
	github.com/sundialhq/sundial v0.0.0-00010101000000-000000000000
)
