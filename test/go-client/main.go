// Drives Tocsin's /api/v1/personal_notification_rules with the real Grafana OnCall Go client (the one Terraform's
// grafana_oncall_user_notification_rule uses) and checks every answer. Exits non-zero, saying what differed, on the
// first mismatch; on success prints the ids it kept as JSON on stdout.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"

	aapi "github.com/grafana/amixr-api-go-client"
)

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "go-client: "+format+"\n", args...)
	os.Exit(1)
}

// answered takes a client call's three results and, once told what the call was, returns its value or fails.
func answered[T any](value T, resp *http.Response, err error) func(what string) T {
	return func(what string) T {
		if err != nil {
			status := 0
			if resp != nil {
				status = resp.StatusCode
			}
			fail("%s: status %d: %v", what, status, err)
		}
		return value
	}
}

func expectRule(what string, got *aapi.UserNotificationRule, want aapi.UserNotificationRule) {
	if want.ID == "" {
		want.ID = got.ID
	}
	if *got != want {
		fail("%s: got %+v, want %+v", what, *got, want)
	}
	if !strings.HasPrefix(got.ID, "N") || len(got.ID) < 13 {
		fail("%s: id %q is not an OnCall rule id", what, got.ID)
	}
}

func ids(rules []*aapi.UserNotificationRule) []string {
	out := make([]string, len(rules))
	for i, rule := range rules {
		out[i] = rule.ID
	}
	return out
}

func expectList(what string, page *aapi.PaginatedUserNotificationRulesResponse, want ...*aapi.UserNotificationRule) {
	if page.Count != len(want) || page.Next != nil || page.Previous != nil || len(page.UserNotificationRules) != len(want) {
		fail("%s: count %d (next %v, previous %v), want %d rules", what, page.Count, page.Next, page.Previous, len(want))
	}
	for i, rule := range page.UserNotificationRules {
		if *rule != *want[i] {
			fail("%s: rule %d is %+v, want %+v (order %v)", what, i, *rule, *want[i], ids(page.UserNotificationRules))
		}
	}
}

func env(name, fallback string) string {
	if value := os.Getenv(name); value != "" {
		return value
	}
	return fallback
}

func main() {
	baseURL := flag.String("base-url", env("TOCSIN_URL", ""), "Tocsin's base URL (the client appends api/v1/)")
	token := flag.String("token", env("TOCSIN_TOKEN", ""), "a user API token")
	userID := flag.String("user-id", env("TOCSIN_USER_ID", ""), "a user without personal notification rules")
	flag.Parse()
	if *baseURL == "" || *token == "" || *userID == "" {
		fail("-base-url, -token and -user-id (or TOCSIN_URL, TOCSIN_TOKEN, TOCSIN_USER_ID) are required")
	}
	client, err := aapi.New(*baseURL, *token)
	if err != nil {
		fail("client: %v", err)
	}
	rules := client.UserNotificationRules
	intPtr := func(n int) *int { return &n }

	wait := answered(rules.CreateUserNotificationRule(&aapi.CreateUserNotificationRuleOptions{UserId: *userID, Type: "wait", Duration: intPtr(300)}))("create wait")
	expectRule("create wait", wait, aapi.UserNotificationRule{UserId: *userID, Position: 0, Duration: 300, Type: "wait"})
	sms := answered(rules.CreateUserNotificationRule(&aapi.CreateUserNotificationRuleOptions{UserId: *userID, Type: "notify_by_sms"}))("create sms")
	expectRule("create sms", sms, aapi.UserNotificationRule{UserId: *userID, Position: 1, Type: "notify_by_sms"})
	phone := answered(rules.CreateUserNotificationRule(&aapi.CreateUserNotificationRuleOptions{UserId: *userID, Type: "notify_by_phone_call", Important: true}))("create important phone call")
	expectRule("create important phone call", phone, aapi.UserNotificationRule{UserId: *userID, Position: 0, Important: true, Type: "notify_by_phone_call"})

	got := answered(rules.GetUserNotificationRule(sms.ID, &aapi.GetUserNotificationRuleOptions{}))("get sms")
	expectRule("get sms", got, *sms)

	longer := answered(rules.UpdateUserNotificationRule(wait.ID, &aapi.UpdateUserNotificationRuleOptions{Duration: intPtr(900)}))("update wait")
	expectRule("update wait to 900 s", longer, aapi.UserNotificationRule{ID: wait.ID, UserId: *userID, Position: 0, Duration: 900, Type: "wait"})

	all := answered(rules.ListUserNotificationRules(&aapi.ListUserNotificationRuleOptions{UserId: *userID}))("list for the user")
	expectList("list for the user", all, longer, sms, phone)
	important := answered(rules.ListUserNotificationRules(&aapi.ListUserNotificationRuleOptions{UserId: *userID, Important: "true"}))("list important")
	expectList("list important only", important, phone)
	defaults := answered(rules.ListUserNotificationRules(&aapi.ListUserNotificationRuleOptions{UserId: *userID, Important: "false"}))("list default")
	expectList("list default only", defaults, longer, sms)

	// Refusals reach the client as errors with OnCall's status and words.
	_, resp, err := rules.CreateUserNotificationRule(&aapi.CreateUserNotificationRuleOptions{UserId: *userID, Type: "notify_by_pigeon"})
	if err == nil || resp == nil || resp.StatusCode != http.StatusBadRequest || !strings.Contains(err.Error(), "Invalid type") {
		fail("create with an unknown type: want 400 Invalid type, got %v (%v)", resp, err)
	}

	if resp, err := rules.DeleteUserNotificationRule(sms.ID, &aapi.DeleteUserNotificationRuleOptions{}); err != nil {
		fail("delete sms: %v (%v)", err, resp)
	}
	_, resp, err = rules.GetUserNotificationRule(sms.ID, &aapi.GetUserNotificationRuleOptions{})
	if err == nil || resp == nil || resp.StatusCode != http.StatusNotFound {
		fail("get after delete: want 404, got %v (%v)", resp, err)
	}
	after := answered(rules.ListUserNotificationRules(&aapi.ListUserNotificationRuleOptions{UserId: *userID}))("list after delete")
	expectList("list after delete", after, longer, phone)

	out, _ := json.Marshal(map[string]string{"wait": wait.ID, "phone": phone.ID, "deleted": sms.ID})
	fmt.Println(string(out))
}
