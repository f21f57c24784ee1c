package image

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The Dockerfile builds, for people with Docker, the image Build makes:
// same entrypoint, environment, user, working directory, volume, users.
func TestDockerfileMatchesTheImage(t *testing.T) {
	b, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df := string(b)
	img, err := Build(Options{SCN: "image.go", Arch: runtime.GOARCH}) // any file stands in for the binary
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := img.ConfigFile()
	c := cf.Config
	final := df[strings.LastIndex(df, "FROM scratch"):]
	ep, _ := json.Marshal(c.Entrypoint)
	cmd, _ := json.Marshal(c.Cmd)
	want := []string{"ENTRYPOINT " + strings.ReplaceAll(string(ep), ",", ", "), "CMD " + string(cmd), "USER " + c.User,
		"WORKDIR " + c.WorkingDir, "ENV " + strings.Join(c.Env, " ")}
	for v := range c.Volumes {
		want = append(want, "VOLUME "+v)
	}
	for _, w := range want {
		if !strings.Contains(final, "\n"+w+"\n") {
			t.Errorf("the Dockerfile's final stage lacks %q (internal/image has it)", w)
		}
	}
	for _, f := range []string{passwdFile, groupFile} {
		if !strings.Contains(df, strings.ReplaceAll(f, "\n", `\n`)) {
			t.Errorf("the Dockerfile writes other users than internal/image: want %q", f)
		}
	}
}

// The CronJobs run the image as its user, with the state volume where
// the image keeps its state, on scenarios the image carries.
func TestKubernetesManifest(t *testing.T) {
	f, err := os.Open("../../deploy/kubernetes/scn-nightly.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type container struct {
		Name         string
		Image        string
		Args         []string
		VolumeMounts []struct {
			Name      string
			MountPath string `yaml:"mountPath"`
		} `yaml:"volumeMounts"`
	}
	type podSpec struct {
		SecurityContext struct {
			RunAsUser int `yaml:"runAsUser"`
			FSGroup   int `yaml:"fsGroup"`
		} `yaml:"securityContext"`
		InitContainers []container `yaml:"initContainers"`
		Containers     []container
		Volumes        []struct {
			Name string
			PVC  struct {
				ClaimName string `yaml:"claimName"`
			} `yaml:"persistentVolumeClaim"`
		}
	}
	var doc struct {
		Kind     string
		Metadata struct{ Name string }
		Spec     struct {
			ConcurrencyPolicy string `yaml:"concurrencyPolicy"`
			JobTemplate       struct {
				Spec struct {
					Template struct{ Spec podSpec }
				}
			} `yaml:"jobTemplate"`
		}
	}
	claims, jobs, dec := map[string]bool{}, 0, yaml.NewDecoder(bufio.NewReader(f))
	var pods []podSpec
	for {
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		switch doc.Kind {
		case "PersistentVolumeClaim":
			claims[doc.Metadata.Name] = true
		case "CronJob":
			jobs++
			if doc.Spec.ConcurrencyPolicy != "Forbid" {
				t.Errorf("CronJob %s: concurrencyPolicy %q: two runs would share the state", doc.Metadata.Name, doc.Spec.ConcurrencyPolicy)
			}
			pods = append(pods, doc.Spec.JobTemplate.Spec.Template.Spec)
		}
		doc.Spec.JobTemplate.Spec.Template.Spec = podSpec{}
	}
	if jobs != 2 {
		t.Fatalf("%d CronJobs, want the drills and the history", jobs)
	}
	for _, p := range pods {
		if p.SecurityContext.RunAsUser != UID || p.SecurityContext.FSGroup != UID {
			t.Errorf("pod runs as %d (fsGroup %d), want the image's user %d", p.SecurityContext.RunAsUser, p.SecurityContext.FSGroup, UID)
		}
		for _, v := range p.Volumes {
			if !claims[v.PVC.ClaimName] {
				t.Errorf("volume %s claims %q, which the manifest does not define", v.Name, v.PVC.ClaimName)
			}
		}
		for _, c := range append(p.InitContainers, p.Containers...) {
			mounted := false
			for _, m := range c.VolumeMounts {
				mounted = mounted || m.MountPath == StateDir
			}
			if !mounted {
				t.Errorf("container %s does not mount the state volume at %s (SCN_HOME)", c.Name, StateDir)
			}
			for _, a := range c.Args {
				if rel, ok := strings.CutPrefix(a, ScenarioDir+"/"); ok {
					if _, err := os.Stat(filepath.Join("../../scenarios", filepath.FromSlash(path.Clean(rel)))); err != nil {
						t.Errorf("container %s runs %s, which is not in the image's scenarios", c.Name, a)
					}
				}
			}
		}
	}
}
