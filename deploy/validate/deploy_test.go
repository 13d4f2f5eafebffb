// Package validate checks the deploy/ examples: every Kubernetes manifest
// decodes strictly into its API type (an unknown or misspelt field fails),
// the CronJob's driver script generates valid Jobs in the right order (run
// with a fake kubectl), the Argo workflow's DAG is consistent, and every
// churn command line in them is accepted by the churn binary built from
// this repository.
package validate

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

// docs splits a YAML file into its documents.
func docs(t *testing.T, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, d := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(b), -1) {
		if strings.TrimSpace(stripComments(d)) != "" {
			out = append(out, []byte(d))
		}
	}
	return out
}

func stripComments(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// decode strictly decodes one Kubernetes document by its kind and returns it.
func decode(t *testing.T, name string, doc []byte) any {
	t.Helper()
	var head struct{ APIVersion, Kind string }
	if err := yaml.Unmarshal(doc, &head); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var obj any
	switch head.APIVersion + " " + head.Kind {
	case "v1 ConfigMap":
		obj = &corev1.ConfigMap{}
	case "v1 ServiceAccount":
		obj = &corev1.ServiceAccount{}
	case "rbac.authorization.k8s.io/v1 Role":
		obj = &rbacv1.Role{}
	case "rbac.authorization.k8s.io/v1 RoleBinding":
		obj = &rbacv1.RoleBinding{}
	case "batch/v1 Job":
		obj = &batchv1.Job{}
	case "batch/v1 CronJob":
		obj = &batchv1.CronJob{}
	default:
		t.Fatalf("%s: unexpected %s %s", name, head.APIVersion, head.Kind)
	}
	if err := yaml.UnmarshalStrict(doc, obj); err != nil {
		t.Fatalf("%s (%s): %v", name, head.Kind, err)
	}
	return obj
}

// churnBinary builds the churn command of this repository once.
func churnBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "churn")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/churn")
	cmd.Dir = filepath.Join("..", "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build churn: %v\n%s", err, out)
	}
	return bin
}

// acceptsArgs checks that churn parses args (every command and flag
// exists): --help stops before running, after the flags are parsed.
func acceptsArgs(t *testing.T, bin string, args []string) {
	t.Helper()
	concrete := make([]string, len(args))
	for i, a := range args { // placeholders of the schedulers, as they would be filled in
		a = strings.ReplaceAll(a, "$(JOB_COMPLETION_INDEX)", "1")
		a = strings.ReplaceAll(a, "$(AS_OF)", "2025-12-31")
		a = strings.ReplaceAll(a, "{{inputs.parameters.shard}}", "1")
		a = strings.ReplaceAll(a, "{{workflow.parameters.shards}}", "4")
		a = strings.ReplaceAll(a, "{{workflow.parameters.as-of}}", "2025-12-31")
		concrete[i] = a
	}
	out, err := exec.Command(bin, append(concrete, "--help")...).CombinedOutput()
	if err != nil {
		t.Errorf("churn %s: %v\n%s", strings.Join(concrete, " "), err, out)
	}
}

// checkShardJob checks a Job that runs a churn stage: non-root, the cache
// volume, and, when indexed, a --shard of its completion index over its
// completions.
func checkShardJob(t *testing.T, name string, j *batchv1.Job) []string {
	t.Helper()
	ps := j.Spec.Template.Spec
	if ps.SecurityContext == nil || ps.SecurityContext.RunAsNonRoot == nil || !*ps.SecurityContext.RunAsNonRoot {
		t.Errorf("%s: pods must run as non-root", name)
	}
	if len(ps.Containers) != 1 {
		t.Fatalf("%s: %d containers", name, len(ps.Containers))
	}
	c := ps.Containers[0]
	if !slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == "/cache" }) {
		t.Errorf("%s: no /cache volume for the work directory's local copy", name)
	}
	indexed := j.Spec.CompletionMode != nil && *j.Spec.CompletionMode == batchv1.IndexedCompletion
	shard := slices.Index(c.Args, "--shard")
	if indexed {
		n := *j.Spec.Completions
		if shard < 0 || c.Args[shard+1] != "$(JOB_COMPLETION_INDEX)/"+itoa(n) {
			t.Errorf("%s: an Indexed Job of %d completions must pass --shard $(JOB_COMPLETION_INDEX)/%d, args %v", name, n, n, c.Args)
		}
		if !slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "JOB_COMPLETION_INDEX" }) {
			t.Errorf("%s: JOB_COMPLETION_INDEX is not in the container's env, so $(JOB_COMPLETION_INDEX) is not expanded", name)
		}
	} else if shard >= 0 {
		t.Errorf("%s: --shard in a job that is not indexed", name)
	}
	return c.Args
}

func itoa(n int32) string { b, _ := json.Marshal(n); return string(b) }

func TestKubernetes(t *testing.T) {
	bin := churnBinary(t)
	var driver, template string
	for _, f := range []string{"config.yaml", "indexed-job.yaml", "cronjob.yaml"} {
		for i, d := range docs(t, filepath.Join("..", "k8s", f)) {
			name := f + "#" + itoa(int32(i))
			switch o := decode(t, name, d).(type) {
			case *batchv1.Job:
				acceptsArgs(t, bin, checkShardJob(t, name, o))
			case *batchv1.CronJob:
				if o.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
					t.Errorf("%s: two nightlies must not overlap (concurrencyPolicy Forbid)", name)
				}
			case *corev1.ConfigMap:
				if s, ok := o.Data["driver.sh"]; ok {
					driver, template = s, o.Data["job.yaml"]
				}
				if o.Name == "churn" && o.Data["CHURN_WORKDIR"] == "" {
					t.Errorf("%s: no CHURN_WORKDIR", name)
				}
			}
		}
	}
	if driver == "" || template == "" {
		t.Fatal("cronjob.yaml: no driver.sh and job.yaml in a ConfigMap")
	}
	// Run the driver with a fake kubectl that keeps what is applied and
	// reports every job complete.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "job.yaml"), []byte(template), 0o644)
	os.WriteFile(filepath.Join(dir, "driver.sh"), []byte(driver), 0o755)
	fake := `#!/bin/sh
case "$1" in
apply) n=$(ls "$APPLIED" | wc -l); cat > "$APPLIED/$(printf %02d "$n").yaml" ;;
get) echo Complete ;;
esac
`
	os.WriteFile(filepath.Join(dir, "kubectl"), []byte(fake), 0o755)
	applied := filepath.Join(dir, "applied")
	os.Mkdir(applied, 0o755)
	cmd := exec.Command("sh", filepath.Join(dir, "driver.sh"))
	cmd.Env = append(os.Environ(), "PATH="+dir+":"+os.Getenv("PATH"), "TEMPLATES="+dir, "APPLIED="+applied, "AS_OF=2025-12-31", "SHARDS=4",
		"CHURN_TRANSACTIONS=/exports/transactions.csv", "CHURN_FEEDBACK=/exports/feedback.csv")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("driver.sh: %v\n%s", err, out)
	}
	files, _ := filepath.Glob(filepath.Join(applied, "*.yaml"))
	var stages []string
	for _, f := range files {
		b, _ := os.ReadFile(f)
		j, ok := decode(t, filepath.Base(f), b).(*batchv1.Job)
		if !ok {
			t.Fatalf("%s: the driver applied something else than a Job", f)
		}
		args := checkShardJob(t, j.Name, j)
		acceptsArgs(t, bin, args)
		stage := args[0]
		if slices.Contains(args, "--shard") {
			stage += " --shard ×" + itoa(*j.Spec.Completions)
		}
		stages = append(stages, stage)
	}
	want := []string{"ingest --shard ×4", "ingest", "train --shard ×4", "train", "score --shard ×4", "merge"}
	if !slices.Equal(stages, want) {
		t.Errorf("the driver runs %v, want %v", stages, want)
	}
}

func TestArgo(t *testing.T) {
	bin := churnBinary(t)
	var wf struct {
		APIVersion, Kind string
		Spec             struct {
			Schedule     string
			WorkflowSpec struct {
				Entrypoint string
				Arguments  struct {
					Parameters []struct{ Name, Value string }
				}
				Volumes   []corev1.Volume
				Templates []struct {
					Name      string
					Inputs    struct{ Parameters []struct{ Name string } }
					Container *json.RawMessage
					DAG       *struct {
						Tasks []struct {
							Name, Template, Depends string
							WithSequence            *struct{ Count string }
						}
					}
				}
			} `json:"workflowSpec"`
		}
	}
	b, err := os.ReadFile(filepath.Join("..", "argo", "cron-workflow.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &wf); err != nil {
		t.Fatal(err)
	}
	if wf.APIVersion != "argoproj.io/v1alpha1" || wf.Kind != "CronWorkflow" || wf.Spec.Schedule == "" {
		t.Fatalf("not a scheduled Argo CronWorkflow: %s %s", wf.APIVersion, wf.Kind)
	}
	ws := wf.Spec.WorkflowSpec
	templates := map[string]int{}
	for i, tp := range ws.Templates {
		templates[tp.Name] = i
	}
	params := map[string]bool{}
	for _, p := range ws.Arguments.Parameters {
		params[p.Name] = true
	}
	vols := map[string]bool{}
	for _, v := range ws.Volumes {
		vols[v.Name] = true
	}
	entry, ok := templates[ws.Entrypoint]
	if !ok || ws.Templates[entry].DAG == nil {
		t.Fatalf("entrypoint %q is not a DAG template", ws.Entrypoint)
	}
	tasks := map[string]bool{}
	var order []string
	for _, task := range ws.Templates[entry].DAG.Tasks {
		if _, ok := templates[task.Template]; !ok {
			t.Errorf("task %s: no template %s", task.Name, task.Template)
		}
		if task.Depends != "" && !tasks[task.Depends] {
			t.Errorf("task %s depends on %s, which is not an earlier task", task.Name, task.Depends)
		}
		tasks[task.Name] = true
		sharded := task.WithSequence != nil
		if sharded && task.WithSequence.Count != "{{workflow.parameters.shards}}" {
			t.Errorf("task %s fans out over %s, not the shards parameter", task.Name, task.WithSequence.Count)
		}
		tp := ws.Templates[templates[task.Template]]
		if tp.Container == nil {
			t.Fatalf("template %s has no container", tp.Name)
		}
		var c corev1.Container
		if err := yaml.UnmarshalStrict(*tp.Container, &c); err != nil {
			t.Errorf("template %s: container: %v", tp.Name, err)
		}
		if c.Image == "" || !slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == "/cache" }) {
			t.Errorf("template %s: container without image or /cache mount", tp.Name)
		}
		for _, m := range c.VolumeMounts {
			if !vols[m.Name] {
				t.Errorf("template %s mounts %s, which the workflow does not define", tp.Name, m.Name)
			}
		}
		hasShard := slices.Contains(c.Args, "{{inputs.parameters.shard}}/{{workflow.parameters.shards}}")
		if sharded != hasShard {
			t.Errorf("task %s: fanned out %v, --shard of the item %v", task.Name, sharded, hasShard)
		}
		for _, m := range regexp.MustCompile(`\{\{workflow\.parameters\.([a-z-]+)\}\}`).FindAllStringSubmatch(strings.Join(c.Args, " "), -1) {
			if !params[m[1]] {
				t.Errorf("template %s uses the undefined parameter %s", tp.Name, m[1])
			}
		}
		acceptsArgs(t, bin, c.Args)
		stage := c.Args[0]
		if sharded {
			stage += " --shard"
		}
		order = append(order, stage)
	}
	want := []string{"ingest --shard", "ingest", "train --shard", "train", "score --shard", "merge"}
	if !slices.Equal(order, want) {
		t.Errorf("the DAG runs %v, want %v", order, want)
	}
}

func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{"CGO_ENABLED=0", "USER 65532:65532", ":nonroot", "ENTRYPOINT [\"/usr/local/bin/churn\"]", "CHURN_CACHE_DIR"} {
		if !strings.Contains(s, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	if bytes.Contains(b, []byte("USER root")) {
		t.Error("Dockerfile switches to root")
	}
}
