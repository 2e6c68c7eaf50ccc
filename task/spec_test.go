package task

import "github.com/sundialhq/sundial/trigger"

func triggerSpec(expr string) trigger.Spec { return trigger.Spec{Type: "cron", Expr: expr} }
